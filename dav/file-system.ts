/**
 * The FileSystem adapter webdav-server requires. Every method of the protocol is served by our own
 * handlers (see index.ts), so the library only asks this adapter for a resource's type (for its
 * Allow header) and a few read-side facts; each hook reuses the request's path resolution (one
 * query per request) and never writes. Locks (issue 4) will plug in through `_lockManager`.
 */
import { v2 } from 'webdav-server';
import type { DavContext } from './context.js';

export const STATE = Symbol('coffer.dav');

type Cb<T> = (error?: Error, result?: T) => void;
type Info = { context: v2.RequestContext };

function stateOf(info: Info): DavContext | undefined {
  const ctx = info.context as v2.RequestContext & { request?: Record<symbol, unknown> };
  return ctx.request?.[STATE] as DavContext | undefined;
}

const serializer: v2.FileSystemSerializer = {
  uid: () => 'coffer-drive',
  serialize: (_fs, cb) => cb(undefined, {}),
  unserialize: (_data, cb) => cb(undefined, new DriveFileSystem()),
};

export class DriveFileSystem extends v2.FileSystem {
  private readonly locks = new v2.LocalLockManager();
  private readonly props = new v2.LocalPropertyManager();

  constructor() {
    super(serializer);
  }

  private node(
    path: v2.Path,
    info: Info,
    cb: Cb<never>,
    then: (n: NonNullable<Awaited<ReturnType<DavContext['resolve']>>['node']>) => void,
  ): void {
    const state = stateOf(info);
    if (!state) return cb(v2.Errors.ResourceNotFound);
    const names = path.paths.map((p) => p);
    state.resolve(names.join('/') === state.names.join('/') ? undefined : names).then(
      (r) => (r.node ? then(r.node) : cb(v2.Errors.ResourceNotFound)),
      () => cb(v2.Errors.ResourceNotFound),
    );
  }

  protected _type(path: v2.Path, info: v2.TypeInfo, cb: Cb<v2.ResourceType>): void {
    if (path.isRoot()) return cb(undefined, v2.ResourceType.Directory);
    this.node(path, info, cb, (n) =>
      cb(undefined, n.kind === 'folder' ? v2.ResourceType.Directory : v2.ResourceType.File),
    );
  }

  protected override _size(path: v2.Path, info: v2.SizeInfo, cb: Cb<number>): void {
    this.node(path, info, cb, (n) => cb(undefined, n.size));
  }

  protected override _etag(path: v2.Path, info: v2.ETagInfo, cb: Cb<string>): void {
    this.node(path, info, cb, (n) => cb(undefined, n.etag));
  }

  protected override _lastModifiedDate(path: v2.Path, info: v2.LastModifiedDateInfo, cb: Cb<number>): void {
    this.node(path, info, cb, (n) => cb(undefined, n.modifiedAt));
  }

  protected override _creationDate(path: v2.Path, info: v2.CreationDateInfo, cb: Cb<number>): void {
    this.node(path, info, cb, (n) => cb(undefined, n.createdAt));
  }

  protected _lockManager(_path: v2.Path, _info: v2.LockManagerInfo, cb: Cb<v2.ILockManager>): void {
    cb(undefined, this.locks);
  }

  protected _propertyManager(_path: v2.Path, _info: v2.PropertyManagerInfo, cb: Cb<v2.IPropertyManager>): void {
    cb(undefined, this.props);
  }
}
