import { packageConfig } from './tsup.base.ts';

// Run from each package folder (`tsup --config ../../tsup.config.ts`): one identical build for all.
export default packageConfig(process.cwd());
