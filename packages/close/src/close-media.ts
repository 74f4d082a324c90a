/**
 * Media attachments through Close's Files API (https://developer.close.com/api/resources/files): download the media
 * the engine resolved, ask Close for an upload target (`POST /files/upload/`), post the bytes there as
 * `multipart/form-data` (a storage host: no Close credentials are sent to it), and attach the `download.url`.
 */
import type { MediaRef, OperationContext } from '@coexist/core';
import type { AxiosInstance } from 'axios';
import { type CloseAttachmentInput, closeFileUploadSchema } from './close-api.ts';
import { CLOSE_ENDPOINT_GROUPS, toCloseHttpError, toCloseNetworkError } from './close-errors.ts';
import type { CloseTransport } from './close-transport.ts';

/** Close's limit for the attachments of one message (25 MB, crm-apis.md §4.1). */
export const CLOSE_MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024;

/** A downloaded media file. */
export interface CloseMediaFile {
  data: Uint8Array;
  contentType?: string;
  filename?: string;
}

/** Downloads a message's media; `undefined` when it is no longer available (then the message shows a label). */
export type CloseMediaFetcher = (media: MediaRef, signal: AbortSignal) => Promise<CloseMediaFile | undefined>;

const EXTENSIONS: Record<string, string> = {
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/webp': 'webp',
  'video/mp4': 'mp4',
  'audio/ogg': 'ogg',
  'audio/mpeg': 'mp3',
  'application/pdf': 'pdf',
};

/** The default fetcher: a plain GET of `media.url` (no Close credentials), at most 25 MB; `undefined` on any failure. */
export function createDefaultMediaFetcher(http: AxiosInstance): CloseMediaFetcher {
  return async (media, signal) => {
    if (media.url === undefined || !/^https?:\/\//.test(media.url)) return undefined;
    try {
      const response = await http.request<ArrayBuffer>({
        method: 'GET',
        url: media.url,
        responseType: 'arraybuffer',
        maxContentLength: CLOSE_MAX_ATTACHMENT_BYTES,
        signal,
        validateStatus: (status) => status === 200,
      });
      const contentType = response.headers['content-type'];
      return {
        data: new Uint8Array(response.data),
        ...(typeof contentType === 'string' ? { contentType: contentType.split(';')[0]!.trim() } : {}),
      };
    } catch {
      // Meta's media URLs expire; an unavailable file becomes a label, never a failed message.
      return undefined;
    }
  };
}

/** Uploads one media file through the Files API and returns the attachment to put on the activity. */
export async function uploadCloseAttachment(
  transport: CloseTransport,
  http: AxiosInstance,
  kind: string,
  media: MediaRef,
  file: CloseMediaFile,
  context: OperationContext,
): Promise<CloseAttachmentInput> {
  const contentType = file.contentType ?? media.mimeType?.split(';')[0]?.trim() ?? 'application/octet-stream';
  const filename = file.filename ?? media.filename ?? `${kind}.${EXTENSIONS[contentType] ?? 'bin'}`;
  const target = await transport.request({
    method: 'POST',
    path: '/files/upload/',
    group: CLOSE_ENDPOINT_GROUPS.uploadFile,
    body: { filename, content_type: contentType },
    schema: closeFileUploadSchema,
    context,
  });
  const form = new FormData();
  for (const [name, value] of Object.entries(target.upload.fields)) form.append(name, value);
  form.append('file', new Blob([file.data as Uint8Array<ArrayBuffer>], { type: contentType }), filename);
  let status: number;
  try {
    const response = await http.request({
      method: 'POST',
      url: target.upload.url,
      data: form,
      signal: context.signal,
      validateStatus: () => true,
      maxRedirects: 0,
    });
    status = response.status;
  } catch (error) {
    throw toCloseNetworkError('file upload', (error as { code?: string }).code);
  }
  if (status < 200 || status >= 300) throw toCloseHttpError({ group: 'file upload', status, body: undefined });
  return { url: target.download.url, filename, content_type: contentType };
}
