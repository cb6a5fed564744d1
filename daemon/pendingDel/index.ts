export { PendingDels, recordAction, type DrainReport, type DrainStep, type PendingDelsOptions } from './service.js';
export { RecordsDir } from './records.js';
