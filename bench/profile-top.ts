/**
 * What a profile of obmen says, in a terminal: the functions with the most self time in a
 * `.cpuprofile` (node --cpu-prof), or the most bytes allocated in a `.heapprofile`
 * (bench/heap-sampling.mjs), and who calls a given function.
 *
 *   node --import tsx bench/profile-top.ts FILE [--top 40] [--callers NAME]
 *
 * With the endpoint benchmark: `--node-flags="--cpu-prof --cpu-prof-dir=/tmp/prof"` writes one
 * profile per thread of obmen (the largest two are the main and the parser thread).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface CpuNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface HeapNode {
  callFrame: CallFrame;
  selfSize: number;
  children: HeapNode[];
}

/** A profile as one shape: each node's own cost, its parent, its name. */
interface Costed {
  name: string;
  self: number;
  parent: Costed | undefined;
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '40' }, callers: { type: 'string' } },
});

function nameOf(frame: CallFrame): string {
  const file = frame.url.split('/').slice(-2).join('/');
  return `${frame.functionName || '(anonymous)'} ${file}:${frame.lineNumber + 1}`;
}

function fromCpuProfile(profile: { nodes: CpuNode[]; samples: number[]; timeDeltas: number[] }): Costed[] {
  const byId = new Map<number, Costed>();
  for (const node of profile.nodes)
    byId.set(node.id, { name: nameOf(node.callFrame), self: 0, parent: undefined });
  for (const node of profile.nodes)
    for (const child of node.children ?? []) byId.get(child)!.parent = byId.get(node.id);
  // A sample's time is the delta to the next one; microseconds.
  profile.samples.forEach((id, i) => {
    byId.get(id)!.self += profile.timeDeltas[i + 1] ?? 0;
  });
  return [...byId.values()];
}

function fromHeapProfile(profile: { head: HeapNode }): Costed[] {
  const out: Costed[] = [];
  const walk = (node: HeapNode, parent: Costed | undefined) => {
    const costed = { name: nameOf(node.callFrame), self: node.selfSize, parent };
    out.push(costed);
    for (const child of node.children) walk(child, costed);
  };
  walk(profile.head, undefined);
  return out;
}

function main(): void {
  const file = positionals[0];
  if (file === undefined) throw new Error('usage: profile-top.ts FILE [--top N] [--callers NAME]');
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const heap = profile.head !== undefined;
  const nodes = heap ? fromHeapProfile(profile) : fromCpuProfile(profile);
  const total = nodes.reduce((sum, node) => sum + node.self, 0);
  const show = (amount: number) =>
    heap ? `${(amount / 1e6).toFixed(1).padStart(8)} MB` : `${(amount / 1e6).toFixed(2).padStart(7)} s`;
  const percent = (amount: number) => `${((100 * amount) / total).toFixed(1).padStart(5)} %`;
  console.log(`${file}: ${show(total)} ${heap ? 'allocated (sampled)' : 'sampled'}`);

  const top = Number(values.top);
  const bySelf = new Map<string, number>();
  for (const node of nodes) bySelf.set(node.name, (bySelf.get(node.name) ?? 0) + node.self);
  for (const [name, self] of [...bySelf].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`${percent(self)} ${show(self)}  ${name}`);

  if (values.callers === undefined) return;
  // Inclusive cost of NAME (outermost calls only, so recursion is not counted twice) by caller.
  const inclusive = new Map<Costed, number>();
  for (const node of nodes) {
    for (let at: Costed | undefined = node; at !== undefined; at = at.parent)
      inclusive.set(at, (inclusive.get(at) ?? 0) + node.self);
  }
  const byCaller = new Map<string, number>();
  for (const node of nodes) {
    if (!node.name.startsWith(`${values.callers} `)) continue;
    let outermost = true;
    for (let at = node.parent; at !== undefined; at = at.parent) if (at.name === node.name) outermost = false;
    if (!outermost) continue;
    const caller = `${node.parent?.name ?? '(root)'} ← ${node.parent?.parent?.name ?? '(root)'}`;
    byCaller.set(caller, (byCaller.get(caller) ?? 0) + (inclusive.get(node) ?? 0));
  }
  console.log(`\n${values.callers}, inclusive, by caller ← its caller:`);
  for (const [caller, amount] of [...byCaller].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`${percent(amount)} ${show(amount)}  ${caller}`);
}

main();
