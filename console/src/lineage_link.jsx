// Links to the lineage page, for the pages that lead there (the task inspector, a model
// version): small, so that they do not bring the page (and dagre) along.
import { Link } from "./router.jsx";

/** The address of the lineage of an artifact or an execution (`kind`), at `depth`. */
export function lineageHref(kind, id, depth) {
  const shown = depth === undefined || depth === null ? "" : `?depth=${depth}`;
  return `/ui/lineage/${kind}s/${id}${shown}`;
}

/** "Lineage" (or `children`) leading to the lineage page of `kind` `id`. */
export function LineageLink({ kind, id, children = "Lineage", ...rest }) {
  return (
    <Link href={lineageHref(kind, id)} class="lineage-link" data-lineage={`${kind}-${id}`} {...rest}>
      {children}
    </Link>
  );
}
