/**
 * What every caller of the library may need without loading any verb: the errors (to tell
 * them apart by code) and the names of artifact kinds and link types.
 */
export * from '../errors/index.js';
export { KINDS, LINK_TYPES, type Kind, type LinkType } from '../formats/kinds.js';
