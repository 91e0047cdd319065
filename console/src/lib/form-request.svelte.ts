/**
 * The one request a form sends (sign in, register, change the password…): `busy` while it is out, so
 * the submit button waits, and `error`, the message of its failure, shown in the form itself.
 */
export class FormRequest {
  busy = $state(false);
  error = $state('');

  /** Sends it with the last error cleared; `explain` words a failure (by default the error's own message). */
  async send(request: () => Promise<void>, explain = (err: unknown) => (err as Error).message): Promise<void> {
    this.busy = true;
    this.error = '';
    try {
      await request();
    } catch (err) {
      this.error = explain(err);
    } finally {
      this.busy = false;
    }
  }

  /** Turns the form back without sending it: what the browser cannot check itself (two passwords that differ). */
  refuse(message: string): void {
    this.error = message;
  }
}
