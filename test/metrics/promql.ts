// The metric selectors of a PromQL expression, read with the Prometheus project's own PromQL grammar
// (@prometheus-io/lezer-promql), after the Grafana variables a dashboard uses are replaced as Grafana does.
import { parser } from '@prometheus-io/lezer-promql';

export interface Selector {
  metric: string;
  /** Label names the selector matches on. */
  labels: string[];
}

/** Grafana's own variables and the dashboard's template variables, as Grafana substitutes them. */
export function substituteGrafanaVars(expr: string, vars: Record<string, string>): string {
  return expr.replace(/\$(__rate_interval|__interval|__range|\{?\w+\}?)/g, (m, name: string) => {
    const n = name.replace(/^\{|\}$/g, '');
    if (n === '__rate_interval' || n === '__interval' || n === '__range') return '5m';
    const v = vars[n];
    if (v === undefined) throw new Error(`unknown variable ${m} in ${expr}`);
    return v;
  });
}

/** Every vector selector (metric name + matched label names); throws on a syntax error. */
export function selectors(expr: string): Selector[] {
  const tree = parser.parse(expr);
  const out: Selector[] = [];
  let error: string | undefined;
  tree.iterate({
    enter: (n) => {
      if (n.type.isError) error ??= `syntax error at ${n.from} in ${expr}`;
      if (n.type.name !== 'VectorSelector') return;
      const node = n.node;
      const id = node.getChild('Identifier');
      if (!id) {
        error ??= `selector without a metric name in ${expr}`;
        return;
      }
      const labels = (node.getChild('LabelMatchers')?.getChildren('UnquotedLabelMatcher') ?? []).map((m) => {
        const l = m.getChild('LabelName');
        return l ? expr.slice(l.from, l.to) : '';
      });
      out.push({ metric: expr.slice(id.from, id.to), labels });
    },
  });
  if (error) throw new Error(error);
  return out;
}
