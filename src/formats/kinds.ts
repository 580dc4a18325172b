/** Constants the command line needs without loading parsers. */
export const KINDS = ['model', 'dataset', 'code', 'docs'] as const;
export type Kind = (typeof KINDS)[number];
export type LinkType = 'copy' | 'reflink' | 'hardlink' | 'symlink';
export const LINK_TYPES: LinkType[] = ['copy', 'reflink', 'hardlink', 'symlink'];
