/**
 * `mk push`, `mk fetch`, `mk pull` and `mk remote status`: the work is in src/sync (which the
 * pre-push hook calls too).
 */
export {
  push,
  fetchData,
  pull,
  remoteStatus,
  heldTagError,
  type TransferOptions,
  type TransferResult,
  type RemoteStatus,
  type PublishedModelKit,
  type PublishedRoutedModelKit,
  type RunCacheTransfer,
  type Withheld,
  type HeldTag,
  type CopyProgress,
  type Announcement,
  announcementLines,
  signedNote,
} from '../sync/transfer.js';
