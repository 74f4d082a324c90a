import type { EmulatorRequest, EmulatorResponse, EmulatorRouter } from '../emulator/emulator-router.ts';
import type { ClosePrincipal } from './close-auth.ts';
import { closeFieldErrors, closeNotFound, closeOk } from './close-responses.ts';
import { type CloseRouteContext, isObject, readObjectBody } from './close-route-context.ts';
import type { CloseFile, CloseState } from './close-state.ts';

/** Where the emulator's upload target lives (Close hands out a pre-signed storage URL; we serve it ourselves). */
export const CLOSE_UPLOAD_PATH = '/__close-files/upload/';
/** Close's download URL prefix; attachment URLs must begin with it (https://developer.close.com/api/resources/files). */
export const CLOSE_DOWNLOAD_PREFIX = 'https://app.close.com/go/file/';
/** Largest file the upload target accepts (Close caps WhatsApp attachments at 25 MB per message). */
export const CLOSE_MAX_FILE_BYTES = 25 * 1024 * 1024;

/**
 * Files API: `POST /files/upload/` `{filename, content_type}` answers `{upload: {url, fields}, download: {url}}`;
 * the client then posts `multipart/form-data` (the `fields`, then `file`) to `upload.url`, and the bytes are served
 * at `download.url` (`https://app.close.com/go/file/<id>/`, also reachable as `<emulator>/go/file/<id>/` with auth).
 */
export function registerCloseFileRoutes(context: CloseRouteContext, router: EmulatorRouter): void {
  const { state } = context;

  context.route('POST', '/files/upload/', (request, principal) => {
    const body = readObjectBody(request);
    if (!isObject(body)) return body;
    const errors: Record<string, string> = {};
    for (const key of Object.keys(body))
      if (key !== 'filename' && key !== 'content_type') errors[key] = 'Unknown field.';
    if (typeof body.filename !== 'string' || body.filename === '') errors.filename = 'This field is required.';
    if (typeof body.content_type !== 'string' || !body.content_type.includes('/')) {
      errors.content_type = 'Must be a MIME type such as image/jpeg.';
    }
    if (Object.keys(errors).length > 0) return closeFieldErrors(errors);
    const file: CloseFile = {
      id: state.nextId('file'),
      organization_id: principal.organizationId,
      filename: body.filename as string,
      content_type: body.content_type as string,
      date_created: state.timestamp(),
    };
    state.files.set(file.id, file);
    return closeOk({
      upload: {
        url: `${originOf(request)}${CLOSE_UPLOAD_PATH}`,
        fields: { key: file.id, 'Content-Type': file.content_type },
      },
      download: { url: `${CLOSE_DOWNLOAD_PREFIX}${file.id}/` },
    });
  });

  // The storage target is not part of the API host: no Basic auth, no Close rate limits, S3-style 204.
  router.add('POST', CLOSE_UPLOAD_PATH, async (request) => {
    const contentType = String(request.headers['content-type'] ?? '');
    if (!contentType.startsWith('multipart/form-data')) {
      return { status: 400, body: 'Upload must be multipart/form-data' };
    }
    let form: FormData;
    try {
      form = await new Response(new Uint8Array(request.rawBody), {
        headers: { 'content-type': contentType },
      }).formData();
    } catch (error) {
      return { status: 400, body: `Malformed multipart body: ${(error as Error).message}` };
    }
    const key = form.get('key');
    const file = form.get('file');
    const record = typeof key === 'string' ? state.files.get(key) : undefined;
    if (record === undefined) return { status: 403, body: 'Unknown or missing upload key' };
    if (record.bytes !== undefined) return { status: 409, body: 'This upload key was already used' };
    if (!(file instanceof Blob)) return { status: 400, body: 'Missing file part' };
    if (file.size > CLOSE_MAX_FILE_BYTES)
      return { status: 400, body: `File is larger than ${CLOSE_MAX_FILE_BYTES} bytes` };
    record.bytes = Buffer.from(await file.arrayBuffer());
    return { status: 204 };
  });

  context.unversionedRoute('GET', '/go/file/:id', (request, principal) =>
    downloadFile(state, principal, request.params.id!),
  );
}

/** Answers the bytes of an uploaded file of the caller's organization. */
export function downloadFile(state: CloseState, principal: ClosePrincipal, id: string): EmulatorResponse {
  const file = state.files.get(id);
  if (file === undefined || file.organization_id !== principal.organizationId || file.bytes === undefined) {
    return closeNotFound(`File ${id}`);
  }
  return {
    status: 200,
    headers: { 'content-type': file.content_type, 'content-disposition': `attachment; filename="${file.filename}"` },
    body: file.bytes,
  };
}

/** Finds the uploaded file a Files API download URL points at, for the caller's organization. */
export function fileOfDownloadUrl(state: CloseState, principal: ClosePrincipal, url: string): CloseFile | undefined {
  const match =
    /^(?:https:\/\/app\.close\.com|http:\/\/(?:127\.0\.0\.1|localhost|\[::1\]):\d+)\/go\/file\/([^/?#]+)\/?$/.exec(url);
  const file = match ? state.files.get(match[1]!) : undefined;
  return file?.organization_id === principal.organizationId && file.bytes !== undefined ? file : undefined;
}

function originOf(request: EmulatorRequest): string {
  return `http://${request.headers.host ?? '127.0.0.1'}`;
}
