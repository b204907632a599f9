// A Storage whose every call is a span (`storage put`, `storage read`, ...), for traces.
import type { Readable } from 'node:stream';
import { SpanKind } from '@opentelemetry/api';
import { traceStream, withSpan } from '../tracing.ts';
import type { ListedObject, Storage, StoredObject } from './storage.ts';

export class TracedStorage implements Storage {
  constructor(
    readonly inner: Storage,
    /** `file` or `s3`, an attribute of every span. */
    private readonly kind: string,
  ) {}

  private attributes(key: string) {
    return { 'atelier.storage.kind': this.kind, 'atelier.storage.key': key };
  }

  put(key: string, data: Buffer): Promise<void> {
    return withSpan(
      'storage put',
      { ...this.attributes(key), 'atelier.storage.bytes': data.length },
      () => this.inner.put(key, data),
      { kind: SpanKind.CLIENT },
    );
  }

  stat(key: string): Promise<StoredObject | null> {
    return withSpan('storage stat', this.attributes(key), () => this.inner.stat(key), {
      kind: SpanKind.CLIENT,
    });
  }

  read(key: string, range?: { start: number; end: number }): Readable {
    return traceStream(
      'storage read',
      {
        ...this.attributes(key),
        ...(range ? { 'atelier.storage.range': `${range.start}-${range.end}` } : {}),
      },
      this.inner.read(key, range),
    );
  }

  delete(key: string): Promise<void> {
    return withSpan('storage delete', this.attributes(key), () => this.inner.delete(key), {
      kind: SpanKind.CLIENT,
    });
  }

  /** Not a span: a listing is read page by page, for as long as its reader takes. */
  list(folder: string): AsyncIterable<ListedObject> {
    return this.inner.list(folder);
  }
}
