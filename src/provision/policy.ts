/** The disk-or-network rule lives in the boot decision (src/boot/decide.ts); re-exported for older callers. */
export { PROVISIONED_STATES, bootsFromDisk } from '../boot/decide.js';
