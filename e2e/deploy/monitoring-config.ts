import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "yaml";
import { repoRoot } from "./compose-file.ts";

/** Where the monitoring profile's configuration lives. */
export const MONITORING_DIR = join(repoRoot, "observability");

/** Prometheus's configuration, as far as these checks read it. */
export interface PrometheusConfig {
  global?: { scrape_interval?: string };
  rule_files?: string[];
  scrape_configs?: Array<{
    job_name: string;
    metrics_path?: string;
    static_configs?: Array<{ targets?: string[] }>;
    dns_sd_configs?: Array<{ names?: string[]; type?: string; port?: number }>;
  }>;
}

/** A Prometheus rule file. */
export interface RuleFile {
  groups: Array<{
    name: string;
    rules: Array<{ alert?: string; record?: string; expr: string; for?: string }>;
  }>;
}

/** A Grafana dashboard, as far as these checks read it. */
export interface Dashboard {
  uid: string;
  title: string;
  panels: Array<{
    id: number;
    type: string;
    title: string;
    datasource?: { type?: string; uid?: string };
    targets?: Array<{ expr?: string; datasource?: { uid?: string } }>;
    panels?: unknown[];
  }>;
}

/** One PromQL expression found in the monitoring configuration, and where. */
export interface MonitoringExpression {
  /** `alert <name>`, or `<dashboard> / <panel title>`. */
  where: string;
  expr: string;
}

async function readYaml<T>(path: string): Promise<T> {
  return parse(await readFile(path, "utf8")) as T;
}

export function loadPrometheusConfig(): Promise<PrometheusConfig> {
  return readYaml(join(MONITORING_DIR, "prometheus", "prometheus.yml"));
}

/**
 * The rule files Prometheus's configuration names, read from the repository (they are mounted
 * into the container under `mountTarget`, the directory observability/prometheus is mounted at).
 */
export async function loadRuleFiles(mountTarget = "/etc/prometheus"): Promise<RuleFile[]> {
  const config = await loadPrometheusConfig();
  return Promise.all(
    (config.rule_files ?? []).map((file) => {
      if (!file.startsWith(`${mountTarget}/`))
        throw new Error(`rule file ${file} is outside the mounted ${mountTarget}`);
      return readYaml<RuleFile>(
        join(MONITORING_DIR, "prometheus", file.slice(mountTarget.length + 1)),
      );
    }),
  );
}

/** Every dashboard JSON under observability/grafana/dashboards, by file name. */
export async function loadDashboards(): Promise<Map<string, Dashboard>> {
  const dir = join(MONITORING_DIR, "grafana", "dashboards");
  const files = (await readdir(dir)).filter((file) => file.endsWith(".json")).sort();
  const dashboards = new Map<string, Dashboard>();
  for (const file of files)
    dashboards.set(file, JSON.parse(await readFile(join(dir, file), "utf8")) as Dashboard);
  return dashboards;
}

/** Every PromQL expression of the alert rules and of the dashboards' panels. */
export async function monitoringExpressions(): Promise<MonitoringExpression[]> {
  const expressions: MonitoringExpression[] = [];
  for (const file of await loadRuleFiles())
    for (const group of file.groups)
      for (const rule of group.rules)
        expressions.push({ where: `alert ${rule.alert ?? rule.record}`, expr: rule.expr });
  for (const [file, dashboard] of await loadDashboards())
    for (const panel of dashboard.panels)
      for (const target of panel.targets ?? [])
        if (target.expr) expressions.push({ where: `${file} / ${panel.title}`, expr: target.expr });
  return expressions;
}

/** PromQL words that look like metric names but are not. */
const PROMQL_KEYWORDS = new Set([
  "and",
  "or",
  "unless",
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "offset",
  "bool",
  "inf",
  "nan",
]);

/**
 * The metric names a PromQL expression selects. Label matchers, grouping label lists, range
 * durations, strings and Grafana variables are removed first; what is left that is not a
 * function (followed by `(`) or a keyword is a metric name. Enough for the expressions
 * Conveyor writes, not a PromQL parser.
 */
export function metricNamesOf(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, "")
    .replace(/\[[^\]]*\]/g, "")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "")
    .replace(/\$\w+/g, "");
  const names = new Set<string>();
  for (const match of stripped.matchAll(/(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    const [, name, isCall] = match;
    if (!name || isCall || PROMQL_KEYWORDS.has(name.toLowerCase())) continue;
    names.add(name);
  }
  return [...names].sort();
}

/**
 * The label names an expression groups by (`by (…)`, `without (…)`) or matches on (`{name=…}`):
 * each must exist on the metrics the expression selects, or the panel shows one flat line.
 */
export function labelNamesOf(expr: string): string[] {
  const names = new Set<string>();
  const withoutStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  for (const [, list] of withoutStrings.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g))
    for (const name of (list ?? "").split(",")) if (name.trim()) names.add(name.trim());
  for (const [, matchers] of withoutStrings.matchAll(/\{([^}]*)\}/g))
    for (const [, name] of (matchers ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g))
      if (name) names.add(name);
  return [...names].sort();
}

/** The label names each sample name carries in a Prometheus text exposition. */
export function sampleLabelsOf(exposition: string): Map<string, Set<string>> {
  const labels = new Map<string, Set<string>>();
  for (const line of exposition.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s/.exec(line);
    if (!match?.[1]) continue;
    const names = labels.get(match[1]) ?? new Set<string>();
    for (const [, name] of (match[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g))
      if (name) names.add(name);
    labels.set(match[1], names);
  }
  return labels;
}

/** Labels Prometheus adds to every series it scrapes (the job is the app's name). */
export const TARGET_LABELS = new Set(["job", "instance"]);

/**
 * The sample names in a Prometheus text exposition (`conveyor_events_processed_total`,
 * `…_bucket`, `…_sum`, `…_count`), which is what PromQL selects.
 */
export function sampleNamesOf(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const line of exposition.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0];
    if (name) names.add(name);
  }
  return names;
}

/** Series Prometheus makes itself for every target; no app exports them. */
export const PROMETHEUS_SERIES = new Set([
  "up",
  "scrape_duration_seconds",
  "scrape_samples_scraped",
]);
