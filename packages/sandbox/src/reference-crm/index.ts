export { createHttpReferenceAdapter, type HttpReferenceAdapterOptions } from './http-reference-adapter.ts';
export {
  REFERENCE_CRM_DEFAULT_TOKEN,
  type ReferenceCrmContact,
  type ReferenceCrmCounts,
  type ReferenceCrmEmulator,
  type ReferenceCrmMessage,
  type ReferenceCrmOptions,
  startReferenceCrm,
} from './reference-crm-emulator.ts';
