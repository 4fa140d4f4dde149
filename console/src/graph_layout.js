// Where the graph's boxes go: each level laid out by dagre, top to bottom (or as asked:
// the lineage graph goes left to right), a group's box sized to hold its own level's
// layout (so edges only join siblings, which dagre lays out best).
import { graphlib, layout } from "@dagrejs/dagre";

const NODE = { width: 184, height: 46 };
export const PAD = 14;
export const TITLE = 40;
// Above this many nodes a level is laid out the quick way: ranked by a tight tree, not
// by network simplex, and ordered without crossing-reduction sweeps. On a cold page
// those two were most of dagre's time for 500 tasks (benchmarks/console.py).
const BIG_LEVEL = 150;

/**
 * The level placed: `{ width, height, boxes, edges }`, with `boxes` `{ node, x, y,
 * width, height, inside }` (top-left corner; `inside`: the placed level of a group) and
 * `edges` lists of points, all relative to the level's top-left corner. `rankdir` is
 * dagre's: "TB" (top to bottom) or "LR" (left to right).
 */
export function place(level, rankdir = "TB") {
  const graph = new graphlib.Graph();
  const big = level.nodes.length > BIG_LEVEL;
  const ranker = big ? "tight-tree" : "network-simplex";
  graph.setGraph({ rankdir, nodesep: 26, ranksep: 38, marginx: 0, marginy: 0, ranker });
  graph.setDefaultEdgeLabel(() => ({}));
  const insides = new Map();
  for (const node of level.nodes) {
    const inside = node.children ? place(node.children, rankdir) : null;
    insides.set(node.key, inside);
    const size = inside
      ? {
          width: Math.max(inside.width + 2 * PAD, NODE.width),
          height: inside.height + 2 * PAD + TITLE,
        }
      : NODE;
    graph.setNode(node.key, { ...size });
  }
  for (const [from, to] of level.edges) graph.setEdge(from, to);
  layout(graph, { disableOptimalOrderHeuristic: big });
  const boxes = level.nodes.map((node) => {
    const { x, y, width, height } = graph.node(node.key);
    return { node, x: x - width / 2, y: y - height / 2, width, height, inside: insides.get(node.key) };
  });
  const edges = graph.edges().map((edge) => graph.edge(edge).points);
  const { width = 0, height = 0 } = graph.graph();
  return { width: level.nodes.length ? width : 0, height: level.nodes.length ? height : 0, boxes, edges };
}
