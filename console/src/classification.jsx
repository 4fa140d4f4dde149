// Classification metrics shown: a confusion matrix as a small table, and a
// `system.ClassificationMetrics` artifact (KFP's metadata) as its ROC curve and matrix.
import { RocChart, number } from "./charts.jsx";
import { value } from "./format.js";

/** `matrix` (rows the true labels, columns the predicted ones), each cell shaded by its count. */
export function ConfusionMatrix({ labels, matrix, caption = "Confusion matrix" }) {
  const most = Math.max(1, ...matrix.flat().map(number).filter(isFinite));
  return (
    <table class="confusion">
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">true \ predicted</th>
          {labels.map((label) => (
            <th scope="col">{label}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {matrix.map((row, index) => (
          <tr>
            <th scope="row">{labels[index]}</th>
            {row.map((cell) => (
              <td style={{ "--share": (number(cell) / most || 0).toFixed(3) }}>{value(cell)}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/**
 * The ROC curve and confusion matrix of a `system.ClassificationMetrics` artifact's
 * `metadata` (`confidenceMetrics`, `confusionMatrix`), as a pipeline task writes them.
 */
export function ClassificationArtifact({ name, metadata }) {
  const curve = metadata?.confidenceMetrics ?? [];
  const matrix = metadata?.confusionMatrix;
  return (
    <div class="classification">
      {curve.length > 0 && (
        <RocChart
          title={`ROC curve: ${name}`}
          curves={[
            {
              name,
              fpr: curve.map((point) => point.falsePositiveRate),
              tpr: curve.map((point) => point.recall),
            },
          ]}
        />
      )}
      {matrix && (
        <ConfusionMatrix
          labels={(matrix.annotationSpecs ?? []).map((spec) => spec.displayName ?? "")}
          matrix={(matrix.rows ?? []).map((row) => (Array.isArray(row) ? row : row.row))}
        />
      )}
      {curve.length === 0 && !matrix && <p class="empty">No ROC curve nor confusion matrix.</p>}
    </div>
  );
}
