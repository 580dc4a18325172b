/** `mk diff`: the comparison is the work-tree engine's (src/worktree/diff.ts). */
export { diff, type DiffOptions, type DiffResult, type DiffFile, type ArtifactDiff, type DiffSummary } from '../worktree/diff.js';
