/** The Kitfile names kit looks for, in its order. */
export const KITFILE_NAMES = ['Kitfile', 'kitfile', '.kitfile'];
