/**
 * Display names and the user's own profile (issue 12): PATCH /api/auth/me {displayName, email};
 * the display name is shown beside the username wherever a person is shown.
 */
import { expect } from 'chai';
import { api, createUser } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('profiles and display names', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer();
  });
  after(() => srv.close());

  it('sets, shows and clears the display name', async () => {
    const u = await createUser(srv);
    const a = api(srv.url).as(u);
    const set = await a.patch('/api/auth/me', { displayName: '  Ada Lovelace ' });
    expect(set.status).to.equal(200);
    expect((await set.json()).user).to.include({ displayName: 'Ada Lovelace', username: u.username });
    expect((await a.json(a.get('/api/auth/me'))).user.displayName).to.equal('Ada Lovelace');
    expect((await (await a.patch('/api/auth/me', { displayName: '   ' })).json()).user.displayName).to.equal(null);
    expect((await a.patch('/api/auth/me', { displayName: 'bad\u0007bell' })).status).to.equal(400);
  });

  it('changes the email with the current password: validated, unique, then good for signing in; nothing else can be changed here', async () => {
    const u = await createUser(srv);
    const other = await createUser(srv);
    const a = api(srv.url).as(u);
    // Reset links go to this address: a session alone (perhaps a stolen one) cannot move it.
    const bare = await a.patch('/api/auth/me', { email: `new-${u.email}` });
    expect(bare.status).to.equal(400);
    expect((await bare.json()).error.details).to.deep.equal({ field: 'currentPassword' });
    const wrong = await a.patch('/api/auth/me', { email: `new-${u.email}`, currentPassword: 'not-it' });
    expect(wrong.status).to.equal(403);
    expect((await a.json(a.get('/api/auth/me'))).user.email).to.equal(u.email);
    const changed = await a.patch('/api/auth/me', { email: `new-${u.email}`, currentPassword: u.password });
    expect(changed.status).to.equal(200);
    expect((await changed.json()).user.email).to.equal(`new-${u.email}`);
    const signIn = await api(srv.url).post('/api/auth/login', { username: `NEW-${u.email}`, password: u.password });
    expect(signIn.status).to.equal(200);
    const taken = await a.patch('/api/auth/me', { email: other.email, currentPassword: u.password });
    expect(taken.status).to.equal(409);
    expect((await taken.json()).error).to.deep.include({ code: 'already_exists', details: { field: 'email' } });
    expect((await a.patch('/api/auth/me', { email: 'nope', currentPassword: u.password })).status).to.equal(400);
    expect((await a.patch('/api/auth/me', { role: 'admin' })).status).to.equal(400);
    expect((await a.patch('/api/auth/me', { quotaBytes: 1 })).status).to.equal(400);
    expect((await a.patch('/api/auth/me', {})).status).to.equal(400);
    expect((await a.json(a.get('/api/auth/me'))).user.role).to.equal('user');
    expect((await api(srv.url).patch('/api/auth/me', { displayName: 'x' })).status).to.equal(401);
    const log = (await a.json(a.get('/api/activity?action=user.updated'))).items as any[];
    expect(log[0].details).to.deep.include({ email: `new-${u.email}`, previousEmail: u.email });
  });

  it('shows display names in shares, "shared with me", the share dialog lookup and the activity log', async () => {
    const owner = await createUser(srv);
    const grantee = await createUser(srv);
    const o = api(srv.url).as(owner);
    const g = api(srv.url).as(grantee);
    await o.patch('/api/auth/me', { displayName: 'Olga Owner' });
    await g.patch('/api/auth/me', { displayName: 'Greta Grantee' });
    const folder = await o.mkdir(owner.rootId, 'Plans');
    expect(
      (await o.post(`/api/nodes/${folder.id}/shares`, { user: grantee.username, permission: 'edit' })).status,
    ).to.equal(201);

    const shares = (await o.json(o.get(`/api/nodes/${folder.id}/shares`))).items as any[];
    expect(shares[0].grantee).to.include({ username: grantee.username, displayName: 'Greta Grantee' });
    expect(shares[0].owner).to.include({ username: owner.username, displayName: 'Olga Owner' });
    const incoming = (await g.json(g.get('/api/shares/incoming'))).items as any[];
    expect(incoming[0].sharedBy).to.deep.equal({ id: owner.id, username: owner.username, displayName: 'Olga Owner' });
    const found = (await o.json(o.get(`/api/users/lookup?q=${grantee.username}`))).items as any[];
    expect(found[0]).to.include({ username: grantee.username, displayName: 'Greta Grantee' });

    await g.upload(folder.id, 'idea.txt', 'an idea');
    const log = (await o.json(o.get('/api/activity?action=file.uploaded'))).items as any[];
    expect(log[0].actor).to.deep.equal({ id: grantee.id, username: grantee.username, displayName: 'Greta Grantee' });
  });
});
