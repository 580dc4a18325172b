/**
 * Every code an MkError may carry: one closed list, each with the exit status mk ends with and
 * what to do about it. docs/spec/errors.md lists the same codes (a test keeps the two equal);
 * scripts switch on `code` (`--json` prints `{"error": {"code", "message", "hint"}}`), never on
 * message text. A new failure mode gets a row here first.
 *
 * Exit statuses: 1 the command failed, 2 a usage error (the command line or its arguments),
 * 70 a bug in mk, 71 a limit of the system, 73 a file stands where a folder must be,
 * 74 an input/output failure of the machine, 77 a permission.
 */
export const ERROR_CODES = {
  // --- usage --------------------------------------------------------------------------
  EUSAGE: {
    exit: 2,
    what: 'the command line is wrong: an unknown option or command, a missing or extra argument, options that exclude each other',
    todo: "read the one line, then 'mk <command> --help'",
  },
  // --- the repository and its settings --------------------------------------------------
  ENOTREPO: { exit: 1, what: 'not inside a Git work tree, or mk is not set up there', todo: "run it inside a Git repository; 'mk init' sets mk up" },
  ECONFIG: {
    exit: 1,
    what: 'a configuration file (.mk/config.yaml, .git/mk/config.yaml, the docker config, an OCI index) cannot be read or is invalid',
    todo: 'fix the file the message names, at the line it names',
  },
  EGIT: { exit: 1, what: 'a git command mk ran failed', todo: 'the message holds what git said; fix that, then run the command again' },
  ENOFILTER: {
    exit: 1,
    what: "mk's Git filter is not set up in this clone, so git would store a tracked file's bytes in Git",
    todo: "run 'mk install' (this clone) or 'mk install --global' (every clone)",
  },
  EFILTERED: {
    exit: 1,
    what: "the file is kept through mk's Git filter (.gitattributes), not by a pointer file beside it",
    todo: 'use the git command for it (git rm, git mv), or change the track: pattern',
  },
  EHOOK: {
    exit: 1,
    what: "a Git hook mk installs is another tool's, and the place mk keeps such a hook (<hook>.pre-mk) is taken too",
    todo: 'merge the two hooks into <hook>.pre-mk by hand (mk runs it first), then run mk install again',
  },
  ELOCKED: { exit: 1, what: 'another mk process holds the repository lock', todo: 'wait for it to finish; if none is running, remove the lock file the message names' },
  EMIGRATE: { exit: 1, what: 'mk migrate could not bring a file over as expected', todo: "check 'git check-attr filter -- <path>' and the .gitattributes files" },
  // --- paths and the work tree -------------------------------------------------------
  ENOENT: { exit: 1, what: 'a path named on the command line does not exist', todo: 'check the path (relative to where mk runs)' },
  EEXIST: { exit: 1, what: 'the place mk would write already holds something', todo: 'choose another place, or the option that replaces it (-o, --force) when you mean to' },
  ENOTDIR: { exit: 1, what: 'a folder artifact is expected where the work tree holds something else', todo: "restore it whole ('mk pull -- <path>'; --force replaces it)" },
  EINTHEWAY: { exit: 73, what: 'a file stands where a folder must be', todo: 'move or remove that file, or choose another place' },
  EUNSAFEPATH: {
    exit: 1,
    what: 'a path leaves the repository or its folder (../, absolute, through a symlink, into .git)',
    todo: 'nothing is written there: fix the pointer, manifest, tar or argument that names it',
  },
  EUNSAVED: { exit: 1, what: 'the command would overwrite or delete data that exists nowhere else', todo: "save it ('mk add <path>', or commit), or discard it with --force" },
  ECHANGED: { exit: 1, what: 'a file changed while mk was reading it', todo: 'run the command again once nothing writes to it' },
  EINTERRUPTED: {
    exit: 1,
    what: 'mk was placing another version of the artifact when it was stopped (its journal, .git/mk/placing.json, says so): recording it now would record a mix of two versions',
    todo: "finish the placement with 'mk checkout -- <path>' (or rerun the git command that was stopped), then record your changes",
  },
  ENOTTRACKED: { exit: 1, what: 'the path names no artifact mk tracks (at that revision)', todo: "track it with 'mk add <path>', or name a tracked one ('mk status')" },
  EPARTIAL: { exit: 1, what: 'a folder restored only in part cannot be recorded or restored from another version', todo: "restore it whole first ('mk pull -- <folder>')" },
  ECONFLICT: {
    exit: 1,
    what: "a pointer holds Git's merge conflict markers: both branches changed the artifact",
    todo: 'keep one side (git checkout --ours|--theirs -- <pointer>), then mk checkout and git add',
  },
  // --- formats -----------------------------------------------------------------------
  EPOINTER: {
    exit: 1,
    what: 'a pointer file cannot be parsed or fails validation (including YAML aliases and sizes beyond the bounds)',
    todo: "restore it ('git checkout -- <pointer>') or re-create it ('mk add')",
  },
  EMANIFEST: {
    exit: 1,
    what: 'a directory manifest, a file list or an OCI manifest is malformed or contradicts what names it',
    todo: 'take it from a good copy (another remote or revision), or add the folder again',
  },
  EPACK: {
    exit: 1,
    what: 'a pack (a tar layer of small files) is damaged or lacks files its list names',
    todo: "drop it from the cache ('mk gc') and fetch it again; if the remote's copy is damaged, push from a good clone",
  },
  ETAR: { exit: 1, what: 'a layer is not a readable tar', todo: 'it is damaged, or was not written as an OCI tar layer: get it from a good copy' },
  ESIZE: {
    exit: 1,
    what: 'a descriptor records another size than the content its digest names',
    todo: 'the pointer or manifest that names it is damaged: take a good one from another revision, or add the data again',
  },
  ETOOLARGE: {
    exit: 1,
    what: 'content is larger than mk allows for its kind (a manifest, a list, a values file, a YAML document)',
    todo: 'check the reference; a manifest or list is at most a few MiB',
  },
  EKITFILE: { exit: 1, what: 'the Kitfile cannot be parsed or breaks the Kitfile schema', todo: 'fix the Kitfile at the line named (schema: https://kitops.org/docs/kitfile/format/)' },
  EEXPFILE: { exit: 1, what: 'a params or metrics file cannot be read as a mapping of names to values (or holds too many)', todo: 'fix the file, or remove it from params/metrics in .mk/config.yaml' },
  ENOEXP: { exit: 1, what: 'no params, metrics or plots files are declared', todo: 'list them in .mk/config.yaml (params:, metrics:, plots:)' },
  ENOCOMMIT: { exit: 1, what: 'there is no commit yet', todo: 'commit first' },
  // --- pipelines and experiments -------------------------------------------------------
  EPIPELINE: {
    exit: 1,
    what: 'dvc.yaml or dvc.lock cannot be read, or breaks the stages schema (a cycle, two stages writing one output, an unknown key)',
    todo: 'fix the file at the place the message names',
  },
  ENOPIPELINE: { exit: 1, what: 'the command needs a pipeline and the repository has no dvc.yaml', todo: 'describe the stages in dvc.yaml (docs/guides/pipelines.md)' },
  ESTAGE: { exit: 1, what: "a stage's command failed, or did not write an output it declares", todo: 'the message names the stage, its command and how it ended: fix it, then run mk repro again' },
  EBUSY: {
    exit: 1,
    what: 'another process took the same experiment, or a Git operation (rebase, merge, cherry-pick) is in progress',
    todo: 'let the other one finish (or finish the Git operation), then run the command again',
  },
  ENOTDONE: {
    exit: 1,
    what: 'the experiment has not run yet (queued, running or failed): it has no result to apply or keep',
    todo: "run it ('mk exp run --run-all'), or see its state in 'mk exp show'",
  },
  // --- moving in from DVC and Git LFS -------------------------------------------------------
  EDVCFILE: {
    exit: 1,
    what: "a .dvc file, dvc.lock or one of DVC's folder listings cannot be read, or names a path mk cannot take over",
    todo: 'fix the file the message names (or take it from a good revision), then migrate again',
  },
  ENODVC: {
    exit: 1,
    what: 'no DVC outputs to take over here, or DVC is not installed where --fetch needs it',
    todo: "run it in the DVC repository's work tree; for --fetch, install DVC or run 'dvc fetch' yourself",
  },
  EDVCFETCH: { exit: 1, what: 'dvc fetch failed while mk migrate --fetch asked it for missing cache objects', todo: "check DVC's remote ('dvc remote list') and its credentials, then migrate again" },
  EDVCCACHE: { exit: 1, what: "an object in DVC's cache does not match the md5 DVC recorded for it", todo: "remove that object from .dvc/cache and fetch it again ('dvc fetch'), then migrate again" },
  EMODIFIED: {
    exit: 1,
    what: 'a file in the work tree differs from what DVC recorded for it (changes DVC has not recorded)',
    todo: "record them with DVC ('dvc commit') or restore the file ('dvc checkout'), then migrate again",
  },
  EMISSING: {
    exit: 1,
    what: 'the bytes of a DVC or Git LFS object are neither in the work tree nor in the local cache',
    todo: "fetch them first ('dvc fetch', 'git lfs fetch --all'), or use --fetch, then migrate again",
  },
  EDIRTY: {
    exit: 1,
    what: 'the work tree has uncommitted changes (or Git is mid-operation) and the command rewrites commits or files',
    todo: "commit or stash them ('git stash'), then run the command again",
  },
  // --- content and the cache ---------------------------------------------------------
  EDIGEST: {
    exit: 1,
    what: 'bytes do not match the digest they were stored, served or sent under',
    todo: 'the corrupt copy was not kept: fetch or push again from a good copy; the message says which side was wrong',
  },
  ENOTCACHED: { exit: 1, what: 'data the command needs is not in the local cache', todo: "run 'mk fetch' (or 'mk pull') for that revision" },
  ENOTFOUND: { exit: 1, what: 'the store (cache, layout or registry) does not hold that blob, manifest or tag', todo: 'check the reference; publish it first if it is yours' },
  EUNSUPPORTED: { exit: 1, what: 'mk cannot do this (a compression, a layer or a side it does not handle)', todo: 'the message names what is missing and the way around it' },
  // --- remotes, registries and ModelKits ------------------------------------------------
  ENOREMOTE: { exit: 1, what: 'no mk remote is configured', todo: "add one: 'mk remote add origin <oci://host/repo | path>'" },
  ENOREMOTESTORE: { exit: 1, what: "a layout remote's folder is missing or empty (not mounted?)", todo: "check the path ('mk remote list'); a push creates the layout" },
  ENOTLAYOUT: { exit: 1, what: 'the folder is not an OCI image layout, and is not empty either', todo: 'point the remote at a layout, or at a new or empty folder' },
  EREF: { exit: 1, what: 'a reference cannot be resolved to one ModelKit', todo: 'write it as a revision, remote:tag, oci:<path>[:tag] or host/repository[:tag|@digest]' },
  ENOTMODELKIT: { exit: 1, what: 'the manifest is not a ModelKit (its config media type is something else)', todo: 'name a ModelKit (KitOps or CNCF ModelPack)' },
  EMODELKIT: { exit: 1, what: 'a ModelKit is inconsistent (config and manifest disagree, a reference cycle, a missing annotation)', todo: 'rebuild or re-push it from a good source' },
  ENOTPUBLISHED: { exit: 1, what: "the commit's ModelKit is not (or not rightly) on the remote", todo: "run 'mk push <rev>' first" },
  ETAGBEHIND: { exit: 1, what: 'a remote tag names a newer ModelKit than the one being pushed', todo: 'pull first, or move the tag on purpose with --force' },
  EVERIFY: { exit: 1, what: 'a ModelKit cannot be checked against a commit (it names none, or one this clone lacks)', todo: "run 'git fetch', or verify by revision" },
  EREGISTRY: { exit: 1, what: 'the registry answered with an error (5xx and others it gave no better code for)', todo: 'it was retried; try again later, or tell its operator' },
  EAUTH: {
    exit: 1,
    what: 'the registry refused the credentials, or asked for some and mk had none for that host',
    todo: "'mk login <host>' (or docker login), or MK_REGISTRY_USERNAME/_PASSWORD with MK_REGISTRY_HOST",
  },
  EWITHHELD: {
    exit: 1,
    what: 'access is strict (--strict-access, MK_STRICT_ACCESS=1, access.strict) and data routed to a repository this user may not read was withheld',
    todo: 'ask for read access to the repository the message names, or go on without that data (leave strict access off)',
  },
  EROUTE: {
    exit: 1,
    what: "a remote's paths (remotes by path) cannot route a tracked artifact: they split one folder artifact, or the remote is not a registry repository",
    todo: "route the whole folder (a pattern that covers it), or track its parts apart; 'mk remote list' shows the routes",
  },
  ERATELIMIT: { exit: 1, what: 'the registry is rate-limiting requests (429)', todo: 'try again later, or lower the concurrency (-j)' },
  ENETWORK: { exit: 1, what: 'the connection to a registry failed, broke off, or TLS verification failed', todo: 'check the network, the host name and (for a private CA) the ca: setting' },
  ETIMEOUT: {
    exit: 1,
    what: 'a registry host sent nothing for MK_REGISTRY_TIMEOUT seconds (60 by default) across every try of the command',
    todo: 'check that the host named is up and reachable; MK_REGISTRY_TIMEOUT=<seconds> waits longer',
  },
  EPROTOCOL: {
    exit: 1,
    what: 'the other side does not follow the protocol (a registry, a proxy, or git talking to the filter)',
    todo: 'check its configuration and version; the message names what it answered',
  },
  EINSECURE: { exit: 1, what: 'plain HTTP (or unverified TLS) to a host that is not loopback', todo: 'use https, or set insecure: true (--insecure) if you trust the network' },
  // --- signing -------------------------------------------------------------------------
  EKEY: { exit: 1, what: 'a key file is not an (unencrypted) ECDSA P-256/384/521 PEM key of the kind needed', todo: "create a pair with 'mk keygen'" },
  ENOKEY: { exit: 1, what: 'no signing key is configured', todo: 'set signing.key in .git/mk/config.yaml or MK_SIGNING_KEY, or pass --key' },
  ESIGN: { exit: 1, what: 'the ModelKit cannot be signed by mk (it names no commit mk built)', todo: 'sign the ModelKits mk builds (a revision, or its published copies)' },
  ESIGNATURE: { exit: 1, what: 'a signature bundle is malformed or does not verify', todo: 'the message says which part failed; sign again' },
  EUNSIGNED: {
    exit: 1,
    what: 'verify_signatures is set and the ModelKit is not signed by that key (or not published, so nothing vouches for it)',
    todo: "check it with 'mk verify <rev> --key <pub>'; sign it with 'mk sign <rev>' if it is yours",
  },
  // --- the machine (from the system's own error codes) -----------------------------------
  ENOSPC: { exit: 74, what: 'no space left on the device', todo: "free some space (for instance 'mk gc'), then run the command again" },
  ENOROOM: {
    exit: 74,
    what: 'what the command would write (a layer, a file its tar entry declares) does not fit in the free space of the target file system',
    todo: 'free some space or write elsewhere; nothing was written',
  },
  EDQUOT: { exit: 74, what: 'disk quota exceeded', todo: "free some space (for instance 'mk gc'), then run the command again" },
  EROFS: { exit: 74, what: 'the file system is read-only', todo: 'run the command where mk may write (the repository and its cache)' },
  EIO: { exit: 74, what: 'input/output error from the device', todo: 'the disk may be failing: check it' },
  ENAMETOOLONG: { exit: 74, what: 'a file name is too long for this file system', todo: 'use shorter names, or another file system' },
  ELOOP: { exit: 74, what: 'too many levels of symbolic links', todo: 'fix the symlink that points at itself or in a circle' },
  EXDEV: { exit: 74, what: 'the cache and the work tree are on different file systems', todo: "use 'checkout.link: copy', or put MK_CACHE_DIR on the same file system" },
  EACCES: { exit: 77, what: 'permission denied', todo: 'check the owner and permissions of the path (and of MK_CACHE_DIR)' },
  EPERM: { exit: 77, what: 'operation not permitted', todo: 'check the owner and permissions of the path (and of MK_CACHE_DIR)' },
  EMFILE: { exit: 71, what: 'too many open files', todo: "raise the limit ('ulimit -n') or lower the transfers at once (-j)" },
  ENFILE: { exit: 71, what: 'too many open files on the system', todo: 'close other programs, or lower the transfers at once (-j)' },
  // --- bugs ----------------------------------------------------------------------------
  EINTERNAL: { exit: 70, what: 'a bug in mk: something it never expected', todo: 'rerun with MK_DEBUG=1 and report the output' },
} as const satisfies Record<string, { exit: number; what: string; todo: string }>;

/** The closed set of error codes. */
export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(s: unknown): s is ErrorCode {
  return typeof s === 'string' && Object.hasOwn(ERROR_CODES, s);
}
