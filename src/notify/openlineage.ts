import type { PublishEvent } from './event.js';

export const OPENLINEAGE_SCHEMA = 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent';
/** mk's facets, as docs/spec/notify.md describes them (a URN: mk has no schema server). */
const FACET_SCHEMA = 'urn:mk:notify:facets:1';

/** The namespace of a dataset on an OCI remote: `oci://host` for a registry, `file://<folder>` for a layout. */
function datasetOf(reference: string): { namespace: string; name: string } {
  if (reference.startsWith('oci:') && !reference.startsWith('oci://')) {
    const at = reference.lastIndexOf(':');
    return { namespace: `file://${reference.slice('oci:'.length, at)}`, name: reference.slice(at + 1) };
  }
  const slash = reference.indexOf('/');
  return { namespace: `oci://${reference.slice(0, slash)}`, name: reference.slice(slash + 1) };
}

/**
 * The same publish as an OpenLineage 2-0-2 RunEvent (COMPLETE): the job is the project's publish,
 * the run is this push (its id the event's), the output is the ModelKit (namespace the registry,
 * name repository:commit) with mk's facets for the commit, the data changes and the values that
 * moved. A lineage backend (Marquez, DataHub, OpenMetadata...) files it beside the runs that
 * produced the data.
 */
export function openLineageEvent(e: PublishEvent, version: string): Record<string, unknown> {
  const producer = `urn:mk:${version}`;
  /** A custom facet: OpenLineage asks each to name its producer and schema. */
  const facet = <T extends object>(body: T): T & { _producer: string; _schemaURL: string } => ({ _producer: producer, _schemaURL: FACET_SCHEMA, ...body });
  const out = datasetOf(e.modelkit.reference);
  return {
    eventType: 'COMPLETE',
    eventTime: e.time,
    producer,
    schemaURL: OPENLINEAGE_SCHEMA,
    run: {
      runId: e.id,
      facets: {
        mk_publish: facet({ commit: e.commit, base: e.base, ref: e.ref, pushedBy: e.pushedBy, remote: e.repository.remote }),
      },
    },
    job: {
      namespace: e.repository.source ?? 'mk',
      name: `publish${e.ref ? `:${e.ref}` : ''}`,
      facets: {
        sourceCodeLocation: facet({ type: 'git', url: e.repository.source ?? '', version: e.commit.id }),
      },
    },
    inputs: [],
    outputs: [
      {
        ...out,
        facets: {
          version: facet({ datasetVersion: e.modelkit.digest }),
          mk_modelkit: facet({ reference: e.modelkit.reference, digest: e.modelkit.digest, tags: e.modelkit.tags, signatures: e.modelkit.signatures ?? [] }),
          mk_changes: facet({ data: e.data, params: e.params, metrics: e.metrics }),
        },
      },
    ],
  };
}
