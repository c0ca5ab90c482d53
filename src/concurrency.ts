export { mapLimit } from '@airgap/core';
