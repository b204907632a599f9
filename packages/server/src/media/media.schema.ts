// GraphQL for media: the Media node, its errors, uploadMedia, deleteMedia, media, gallery.
import { PothosValidationError } from '@pothos/core';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { readableBy } from '../auth/viewer.ts';
import { builder, MAX_PAGE_SIZE } from '../builder.ts';
import { ValidationError } from '../domain-errors.ts';
import { MediaKind, MediaPurpose } from '../enums.ts';
import { Deleted, DeleteResult, errorTypeOptions } from '../errors.ts';
import { isUuid } from '../ids.ts';
import { InvalidMediaError, MediaInUseError, MediaTooLargeError } from './media.errors.ts';
import { readUpload } from './upload.plugin.ts';

export const MediaRef = builder.prismaNode('Media', {
  description:
    'An uploaded or generated file. Uploaded images are normalized: oriented by EXIF, stripped of metadata, scaled to the configured maximum edge.',
  id: { field: 'id', description: 'Global id (Relay); the URL uses the UUID inside it.' },
  // Unknown ids and other accounts' objects load as null (node, nodes), not as errors.
  nullable: true,
  // node(id:) finds the viewer's media (an admin's: any); ids are UUIDs (see builder.ts).
  findUnique: (id, ctx) => ({ id, ...readableBy(ctx.viewer) }),
  fields: (t) => ({
    kind: t.expose('kind', { type: MediaKind, description: 'Image, video or audio.' }),
    purpose: t.expose('purpose', {
      type: MediaPurpose,
      description: 'Why the file was uploaded, or OUTPUT when a run made it.',
    }),
    mimeType: t.exposeString('mimeType', {
      description: 'MIME type of the stored file (decided from its bytes, not its name).',
    }),
    width: t.exposeInt('width', {
      nullable: true,
      description: 'Width in pixels (images, video).',
    }),
    height: t.exposeInt('height', {
      nullable: true,
      description: 'Height in pixels (images, video).',
    }),
    durationMs: t.exposeInt('durationMs', {
      nullable: true,
      description: 'Duration in milliseconds (video, audio).',
    }),
    bytes: t.exposeInt('bytes', { description: 'Size of the stored file in bytes.' }),
    sha256: t.exposeString('sha256', {
      description:
        'SHA-256 of the stored bytes (hex); the same bytes from one owner are stored once.',
    }),
    hasAlpha: t.exposeBoolean('hasAlpha', {
      description:
        'Whether the stored image has an alpha channel (kept for masks and transparent images).',
    }),
    originalName: t.exposeString('originalName', {
      nullable: true,
      description: 'File name the client sent, for display only.',
    }),
    originalBytes: t.exposeInt('originalBytes', {
      nullable: true,
      description: 'Size in bytes of the file as uploaded, before normalization.',
    }),
    originalWidth: t.exposeInt('originalWidth', {
      nullable: true,
      description: 'Width of the uploaded image after EXIF orientation, before scaling.',
    }),
    originalHeight: t.exposeInt('originalHeight', {
      nullable: true,
      description: 'Height of the uploaded image after EXIF orientation, before scaling.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was stored.' }),
    url: t.string({
      description:
        'Absolute, signed URL of the file (GET /media/{id}; Range and ETag supported). It works without headers (e.g. in <img src>) until it expires (MEDIA_URL_TTL); read the field again for a fresh one.',
      resolve: (media, _args, ctx) =>
        `${ctx.origin}${ctx.services.mediaUrls.sign(media.id, 'original')}`,
    }),
    thumbnailUrl: t.string({
      nullable: true,
      description:
        'Absolute, signed URL of a WebP thumbnail (longest edge at most 256 px by default); expires like `url`.',
      resolve: (media, _args, ctx) =>
        media.thumbnailKey
          ? `${ctx.origin}${ctx.services.mediaUrls.sign(media.id, 'thumbnail')}`
          : null,
    }),
  }),
});

builder.objectType(InvalidMediaError, {
  name: 'InvalidMediaError',
  description:
    'The file is not an accepted image (JPEG, PNG, WebP, GIF, AVIF, TIFF): empty, another format, truncated or corrupt.',
  ...errorTypeOptions(InvalidMediaError),
});

const MediaLimitKind = builder.enumType('MediaLimitKind', {
  description: 'Which upload limit was exceeded.',
  values: {
    BYTES: { description: 'The file size limit.' },
    PIXELS: { description: 'The width × height limit (protects against decompression bombs).' },
  } as const,
});

builder.objectType(MediaTooLargeError, {
  name: 'MediaTooLargeError',
  description: 'The file exceeds the upload size limit or the image pixel limit.',
  ...errorTypeOptions(MediaTooLargeError),
  fields: (t) => ({
    limitKind: t.expose('limitKind', {
      type: MediaLimitKind,
      description: 'Which limit was exceeded.',
    }),
    limit: t.exposeFloat('limit', {
      description: 'The limit that was exceeded: bytes for BYTES, pixels for PIXELS.',
    }),
  }),
});

builder.objectType(MediaInUseError, {
  name: 'MediaInUseError',
  description: 'The media is an input of one or more runs and cannot be deleted while they exist.',
  ...errorTypeOptions(MediaInUseError),
  fields: (t) => ({
    runCount: t.exposeInt('runCount', { description: 'How many runs use the media as an input.' }),
  }),
});

const MediaId = { for: MediaRef, required: true, description: 'Global id of the media.' } as const;

builder.mutationField('uploadMedia', (t) =>
  t.field({
    type: MediaRef,
    description:
      'Uploads an image (GraphQL multipart request). The bytes decide the type; the image is normalized, thumbnailed and deduplicated per owner (the same image twice returns the same Media).',
    args: {
      file: t.arg({ type: 'Upload', required: true, description: 'The file.' }),
      purpose: t.arg({
        type: MediaPurpose,
        defaultValue: 'SOURCE',
        description: 'SOURCE, MASK (alpha kept, stored lossless) or REFERENCE; OUTPUT is refused.',
      }),
    },
    errors: {
      types: [InvalidMediaError, MediaTooLargeError, ValidationError],
      union: { description: 'Result of uploadMedia: the stored media, or why it was refused.' },
      result: { description: 'The upload was stored (or an identical one already was).' },
      dataField: { name: 'media', description: 'The stored media.' },
    },
    resolve: async (_root, args, ctx) => {
      // An unread file (a refused purpose, say) is drained by the upload plugin.
      const file = await readUpload(args.file);
      return ctx.services.media.upload(ctx.viewer.accountId, {
        stream: file.stream,
        purpose: args.purpose ?? 'SOURCE',
        originalName: file.filename,
        clientMime: file.mimetype,
      });
    },
  }),
);

builder.mutationField('deleteMedia', (t) =>
  t.field({
    type: DeleteResult,
    description:
      'Deletes one of your media items and its files. Media used as a run input cannot be deleted.',
    args: { id: t.arg.globalID(MediaId) },
    resolve: async (_root, args, ctx) => {
      await ctx.services.media.delete(ctx.viewer.accountId, args.id.id);
      return new Deleted(encodeGlobalID('Media', args.id.id));
    },
  }),
);

builder.queryField('media', (t) =>
  t.prismaField({
    type: 'Media',
    nullable: true,
    description: 'One of your media items by global id; null when unknown or not yours.',
    args: { id: t.arg.globalID(MediaId) },
    resolve: (query, _root, args, ctx) =>
      ctx.services.media.get(readableBy(ctx.viewer), args.id.id, query),
  }),
);

builder.queryField('gallery', (t) =>
  t.prismaConnection(
    {
      type: 'Media',
      cursor: 'id',
      defaultSize: 20,
      maxSize: MAX_PAGE_SIZE,
      description: `Your media, newest first (pages of at most ${MAX_PAGE_SIZE}).`,
      args: { kind: t.arg({ type: MediaKind, description: 'Only media of this kind.' }) },
      resolve: (query, _root, args, ctx) => {
        // A well-formed cursor can still carry a non-UUID id; refuse it like a bad cursor.
        const cursorId = query.cursor?.id;
        if (cursorId !== undefined && !isUuid(String(cursorId))) {
          throw new PothosValidationError(`Invalid cursor: ${args.after ?? args.before}`);
        }
        return ctx.services.media.gallery(ctx.viewer.accountId, { kind: args.kind }, query);
      },
    },
    { name: 'MediaConnection', description: 'A page of media (Relay connection).' },
    { name: 'MediaEdge', description: 'A media item in a page, with its cursor.' },
  ),
);
