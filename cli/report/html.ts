/**
 * The report page: one self-contained HTML file. Chart.js (MIT, its UMD build read from node_modules) is inlined,
 * the data is an inline JSON block, and a Content-Security-Policy with `default-src 'none'` forbids the page to
 * load anything at view time. Text from the logs (principals, API names, explanations) is escaped on the way
 * into the HTML and handed to Chart.js as data, never as markup.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { shortPrincipal } from '../../lambda/core/detect';
import { evidenceCommand } from '../../lambda/core/findings/finding';
import { DETECTOR_PROFILES, evidenceQueryFor } from '../../lambda/core/findings/insight';
import type { SummaryJson } from '../../lambda/core/summary';
import { type Episode, type EpisodeSeries, episodeEnd, poissonBand } from './series';

/** What the page shows. */
export interface ReportModel {
  readonly title: string;
  /** The paths the report was made from. */
  readonly sources: readonly string[];
  /** The summary of the logs, when logs were read. */
  readonly summary?: SummaryJson;
  /** Episodes, each with its counted series when logs were read. */
  readonly episodes: readonly { readonly episode: Episode; readonly series?: EpisodeSeries }[];
  /** `--logs` argument shown in the evidence commands. */
  readonly logsArgument: string;
}

const SEVERITY_COLOR: Record<string, string> = {
  CRITICAL: '#7f1d1d',
  HIGH: '#dc2626',
  MEDIUM: '#f59e0b',
  LOW: '#2563eb',
  INFORMATIONAL: '#6b7280',
};

/** Set by the CLI build (cli/build.mjs): the Chart.js build shipped beside the bundled command. */
declare const TRAILSIGHT_CHARTJS_FILE: string | undefined;

/** The Chart.js build inlined into the page. */
export function chartJsSource(): string {
  // The package exports no path to its UMD build; it sits next to the CommonJS entry.
  const file =
    typeof TRAILSIGHT_CHARTJS_FILE === 'string'
      ? path.join(__dirname, TRAILSIGHT_CHARTJS_FILE)
      : path.join(path.dirname(require.resolve('chart.js')), 'chart.umd.min.js');
  const text = readFileSync(file, 'utf8');
  if (/<\/script/i.test(text)) throw new Error(`${file} contains "</script" and cannot be inlined`);
  return text;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON that is safe inside a `<script type="application/json">` element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

function utc(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** A principal for a chart label: short, with its account when the logs hold several. */
function principalLabel(arn: string, withAccount: boolean): string {
  const account = /^arn:[^:]+:(?:iam|sts)::(\d{12}):/.exec(arn)?.[1];
  return withAccount && account ? `${shortPrincipal(arn)} (${account})` : shortPrincipal(arn);
}

function subjectOf(e: Episode): string {
  const t = e.start.trailsight;
  // About a Region, like the finding's title (lambda/core/findings/insight.ts).
  if (t.detector === 'delivery-gap' || t.detector === 'unused-region')
    return `${e.start.recipientAccountId}/${e.start.awsRegion}`;
  if (t.principal && t.detector !== 'call-rate' && t.detector !== 'error-rate') return shortPrincipal(t.principal);
  return e.start.insightDetails.eventName;
}

/** Builds the chart data the page script reads. */
function chartData(model: ReportModel) {
  const episodes = model.episodes.map(({ episode: e, series }, index) => {
    const t = e.start.trailsight;
    const severity = DETECTOR_PROFILES[t.detector].severity;
    const start = Date.parse(e.start.eventTime);
    const end = Math.max(episodeEnd(e), start + 60_000);
    // Gaps report missing activity: their `expected` is a run or a file, not a count per window.
    const gapLike = t.detector === 'gap' || t.detector === 'delivery-gap';
    const expected = series ? (t.expected * series.windowMinutes) / Math.max(1, t.windowMinutes) : t.expected;
    return {
      id: `insight-${index + 1}`,
      label: `${t.detector}: ${subjectOf(e)}`,
      severity,
      color: SEVERITY_COLOR[severity],
      start,
      end,
      open: e.end === undefined,
      expectedAt: t.expectedAt ? Date.parse(t.expectedAt) : undefined,
      series: series
        ? {
            from: series.from,
            windowMinutes: series.windowMinutes,
            counts: series.counts,
            ...(gapLike ? {} : { expected, band: poissonBand(expected) }),
          }
        : undefined,
      observed: t.observed,
      windowMinutes: t.windowMinutes,
    };
  });
  const s = model.summary;
  return {
    episodes,
    tops: s
      ? {
          principals: s.principals.map(([k, v]) => [principalLabel(k, s.accounts.length > 1), v]),
          apis: s.apis.map(([k, v]) => [k.replace(/^(\S+)\.amazonaws\.com /, '$1 '), v]),
          errors: s.errorCodes,
          signIns: [
            ['success', s.consoleSignIns.success],
            ['failure', s.consoleSignIns.failure],
            ['with MFA', s.consoleSignIns.withMfa],
            ['without MFA', s.consoleSignIns.withoutMfa],
          ],
        }
      : undefined,
  };
}

function episodeCard(model: ReportModel, e: Episode, index: number, hasSeries: boolean): string {
  const t = e.start.trailsight;
  const profile = DETECTOR_PROFILES[t.detector];
  const query = evidenceQueryFor(e.start);
  const command = evidenceCommand(query, model.logsArgument);
  const end = e.end ? `ended ${utc(episodeEnd(e))}` : 'still open at the end of the data';
  const stats = `observed ${t.observed} in ${t.windowMinutes} min, expected ${t.expected} (p = ${t.score.toExponential(1)})`;
  return `
<section class="card" id="insight-${index + 1}">
  <header>
    <span class="badge" style="background:${SEVERITY_COLOR[profile.severity]}">${profile.severity}</span>
    <h3>${escapeHtml(`${profile.title}: ${subjectOf(e)}`)}</h3>
  </header>
  <p class="meta">${escapeHtml(`${t.detector} · ${e.start.recipientAccountId}/${e.start.awsRegion} · began ${utc(Date.parse(e.start.eventTime))} · ${end}`)}</p>
  <p>${escapeHtml(t.explanation)}</p>
  ${
    hasSeries
      ? `<div class="chart episode"><canvas data-episode="${index}" aria-label="${escapeHtml(`calls per window around the ${t.detector} insight`)}"></canvas></div>`
      : `<p class="meta">${escapeHtml(`${stats}. No logs were given, so there is no series to draw.`)}</p>`
  }
  <p class="next">Next: <strong>${escapeHtml(query.name)}</strong> — <code>${escapeHtml(command)}</code></p>
</section>`;
}

function table(title: string, rows: readonly (readonly [string, number])[]): string {
  if (rows.length === 0) return `<h4>${escapeHtml(title)}</h4><p class="meta">none</p>`;
  const body = rows.map(
    ([k, v]) => `<tr><td>${escapeHtml(k)}</td><td class="n">${v.toLocaleString('en-US')}</td></tr>`,
  );
  return `<h4>${escapeHtml(title)}</h4><table>${body.join('')}</table>`;
}

/** The whole page. */
export function renderReport(model: ReportModel): string {
  const data = chartData(model);
  const s = model.summary;
  const counts = new Map<string, number>();
  for (const { episode } of model.episodes) {
    const sev = DETECTOR_PROFILES[episode.start.trailsight.detector].severity;
    counts.set(sev, (counts.get(sev) ?? 0) + 1);
  }
  const severityLine = [...counts].map(([k, v]) => `${v} ${k.toLowerCase()}`).join(', ') || 'none';
  const overview = s
    ? `${s.events.toLocaleString('en-US')} events · ${s.accounts.length} account(s) · ${s.regions.length} Region(s) · ${
        s.timeSpan ? `${utc(Date.parse(s.timeSpan.first))} → ${utc(Date.parse(s.timeSpan.last))}` : 'no events'
      } · ${s.errors.toLocaleString('en-US')} errors · ${s.writes.toLocaleString('en-US')} writes`
    : 'insights only (no logs given: no activity summary, no series)';
  const cards = model.episodes.map(({ episode, series }, i) => episodeCard(model, episode, i, series !== undefined));
  const activity = s
    ? `
<h2>Activity</h2>
<div class="grid">
  <div><h4>Top principals</h4><div class="chart top"><canvas id="chart-principals"></canvas></div></div>
  <div><h4>Top APIs</h4><div class="chart top"><canvas id="chart-apis"></canvas></div></div>
  <div><h4>Errors</h4><div class="chart top"><canvas id="chart-errors"></canvas></div></div>
  <div><h4>Console sign-ins</h4><div class="chart top"><canvas id="chart-signins"></canvas></div>${table(
    'Successful sign-ins without MFA',
    s.consoleSignIns.successWithoutMfa.map(([k, v]) => [principalLabel(k, s.accounts.length > 1), v]),
  )}</div>
</div>`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(model.title)}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f6f7f9;color:#111827}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px}h3{font-size:15px;margin:0;display:inline}h4{margin:10px 0 4px;font-size:13px}
.meta{color:#6b7280;margin:4px 0}.card{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:14px 16px;margin:12px 0}
.badge{color:#fff;border-radius:4px;padding:1px 6px;font-size:11px;font-weight:600;margin-right:8px;vertical-align:2px}
.chart{position:relative}.chart.episode{height:200px}.chart.timeline{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:8px}.chart.top{height:220px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:16px}.grid>div{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:8px 12px}
code{background:#f3f4f6;padding:2px 4px;border-radius:4px;font-size:12px;word-break:break-all}.next{margin-bottom:0}
table{border-collapse:collapse;width:100%;font-size:12px}td{padding:2px 4px;border-bottom:1px solid #f3f4f6}td.n{text-align:right}
footer{color:#6b7280;font-size:12px;margin-top:24px}
</style>
</head>
<body>
<main>
<h1>${escapeHtml(model.title)}</h1>
<p class="meta">${escapeHtml(overview)}</p>
<p class="meta">${escapeHtml(`from ${model.sources.join(', ')} · ${model.episodes.length} insight(s): ${severityLine}`)}</p>
<h2>Insights on a timeline</h2>
${
  model.episodes.length > 0
    ? `<div class="chart timeline" style="height:${Math.min(900, 60 + 26 * model.episodes.length)}px"><canvas id="chart-timeline"></canvas></div>`
    : '<p class="meta">No insights.</p>'
}
${cards.join('\n')}
${activity}
<footer>
Each insight chart counts, per window, the calls its detector tested (the API, the error code, or the principal's
reads, IAM writes or refused calls; for a silent trail every event of the account and Region), read from the same
logs. The dashed line is the count the learned baseline expected at the episode's start (from the insight), the
band the range a Poisson count around it stays in 99.9 % of the time; the shaded span is the episode (for a missed
job, the dotted line is when the run was due, and the span the silence). The engine's
own test is negative-binomial, wider for bursty series: the band guides the eye, it is not the rule that fired.
Made by <code>trailsight report</code>; the page loads nothing from the network.
</footer>
</main>
<script type="application/json" id="report-data">${scriptJson(data)}</script>
<script>${chartJsSource()}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}

/** Draws the charts from the inline data (runs in the browser). */
const PAGE_SCRIPT = `
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('report-data').textContent);
  Chart.defaults.animation = false;
  Chart.defaults.font.size = 11;
  function pad(n) { return (n < 10 ? '0' : '') + n; }
  function fmt(ms) { var d = new Date(ms); return pad(d.getUTCMonth() + 1) + '-' + pad(d.getUTCDate()) + ' ' + pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes()); }
  var timeAxis = { type: 'linear', ticks: { callback: function (v) { return fmt(v); }, maxRotation: 0, autoSkipPadding: 24 } };
  // Shades the episode and marks when a missed run was due: a plugin on Chart.js's own scales.
  var spans = {
    id: 'episodeSpan',
    beforeDatasetsDraw: function (chart, _args, opts) {
      if (!opts || opts.start === undefined) return;
      var x = chart.scales.x, area = chart.chartArea, ctx = chart.ctx;
      ctx.save();
      ctx.fillStyle = 'rgba(220,38,38,0.08)';
      var a = Math.max(area.left, x.getPixelForValue(opts.start)), b = Math.min(area.right, x.getPixelForValue(opts.end));
      ctx.fillRect(a, area.top, Math.max(2, b - a), area.bottom - area.top);
      if (opts.expectedAt !== undefined) {
        ctx.strokeStyle = '#7c3aed'; ctx.setLineDash([4, 3]); ctx.beginPath();
        var px = x.getPixelForValue(opts.expectedAt); ctx.moveTo(px, area.top); ctx.lineTo(px, area.bottom); ctx.stroke();
      }
      ctx.restore();
    }
  };
  var timeline = document.getElementById('chart-timeline');
  if (timeline) {
    var lo = Math.min.apply(null, data.episodes.map(function (e) { return e.start; }));
    var hi = Math.max.apply(null, data.episodes.map(function (e) { return e.end; }));
    var margin = Math.max(3600000, (hi - lo) * 0.02);
    var span = { min: lo - margin, max: hi + margin };
    new Chart(timeline, {
      type: 'bar',
      data: {
        labels: data.episodes.map(function (e) { return e.label; }),
        datasets: [{
          label: 'episode',
          data: data.episodes.map(function (e) { return [e.start, e.end]; }),
          backgroundColor: data.episodes.map(function (e) { return e.color; }),
          minBarLength: 4,
          barPercentage: 0.8
        }]
      },
      options: {
        indexAxis: 'y', maintainAspectRatio: false,
        scales: { x: Object.assign({}, timeAxis, { beginAtZero: false, min: span.min, max: span.max }) },
        plugins: { legend: { display: false }, tooltip: { callbacks: { label: function (c) { var e = data.episodes[c.dataIndex]; return fmt(e.start) + ' → ' + fmt(e.end) + (e.open ? ' (open)' : ''); } } } },
        onClick: function (_e, els) { if (els.length) location.hash = data.episodes[els[0].index].id; }
      }
    });
  }
  document.querySelectorAll('canvas[data-episode]').forEach(function (canvas) {
    var e = data.episodes[Number(canvas.getAttribute('data-episode'))];
    var s = e.series, step = s.windowMinutes * 60000;
    var xs = s.counts.map(function (_c, i) { return s.from + i * step; });
    var at = function (y) { return xs.map(function (x) { return { x: x, y: y }; }); };
    new Chart(canvas, {
      type: 'line',
      data: {
        datasets: (s.band ? [
          { label: 'band (99.9 %)', data: at(s.band.high), borderWidth: 0, pointRadius: 0, fill: '+1', backgroundColor: 'rgba(16,185,129,0.18)' },
          { label: 'band low', data: at(s.band.low), borderWidth: 0, pointRadius: 0, fill: false },
          { label: 'expected', data: at(s.expected), borderColor: '#059669', borderDash: [5, 4], borderWidth: 1.5, pointRadius: 0, fill: false }
        ] : []).concat([
          {
            label: 'observed per ' + s.windowMinutes + ' min',
            data: s.counts.map(function (c, i) { return { x: xs[i], y: c }; }),
            borderColor: '#111827', borderWidth: 1.5, stepped: 'before', fill: false,
            pointRadius: s.counts.map(function (c) { return s.band && c > s.band.high ? 3 : 0; }),
            pointBackgroundColor: e.color
          }
        ])
      },
      options: {
        maintainAspectRatio: false,
        scales: { x: Object.assign({}, timeAxis, { min: xs[0], max: xs[xs.length - 1] + step }), y: { beginAtZero: true, ticks: { precision: 0 } } },
        plugins: {
          legend: { labels: { boxWidth: 12, filter: function (item) { return item.text !== 'band low'; } } },
          episodeSpan: { start: e.start, end: e.end, expectedAt: e.expectedAt }
        }
      },
      plugins: [spans]
    });
  });
  function bars(id, rows, color) {
    var el = document.getElementById(id);
    if (!el || !rows) return;
    new Chart(el, {
      type: 'bar',
      data: { labels: rows.map(function (r) { return r[0]; }), datasets: [{ data: rows.map(function (r) { return r[1]; }), backgroundColor: color }] },
      options: { indexAxis: 'y', maintainAspectRatio: false, plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } }
    });
  }
  if (data.tops) {
    bars('chart-principals', data.tops.principals, '#2563eb');
    bars('chart-apis', data.tops.apis, '#0891b2');
    bars('chart-errors', data.tops.errors, '#dc2626');
    bars('chart-signins', data.tops.signIns, '#7c3aed');
  }
  window.reportChartsReady = true;
})();
`;
