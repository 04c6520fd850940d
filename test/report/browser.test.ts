/// <reference lib="dom" />
/**
 * The report in a real browser: Debian's headless Chromium (installed by .ci/run when missing), started here,
 * loads the page from disk, and the test checks what a person would see.
 */

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type OpenedReport, openReport } from '../../cli/report/browser';
import { INSIGHTS_JSONL } from '../findings/helpers';
import { report, samplesReport } from './helpers';

interface Box {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/**
 * The share of (near) non-white pixels in each box of a PNG screenshot: something was drawn there. Chromium
 * decodes the PNG in a blank page of its own (pure-JS PNG decoding under jest's VM takes seconds per page).
 */
async function inkedShares(opened: OpenedReport, png: Buffer, boxes: readonly Box[]): Promise<number[]> {
  const probe = await opened.page.context().newPage();
  try {
    return await probe.evaluate(
      async ({ src, boxes }) => {
        const image = new Image();
        image.src = src;
        await image.decode();
        const canvas = document.createElement('canvas');
        canvas.width = image.width;
        canvas.height = image.height;
        const ctx = canvas.getContext('2d', { willReadFrequently: true });
        if (!ctx) throw new Error('no 2d context');
        ctx.drawImage(image, 0, 0);
        return boxes.map((b) => {
          const d = ctx.getImageData(Math.round(b.x), Math.round(b.y), Math.round(b.width), Math.round(b.height)).data;
          let inked = 0;
          for (let i = 0; i < d.length; i += 4) if (d[i] < 235 || d[i + 1] < 235 || d[i + 2] < 235) inked++;
          return inked / Math.max(1, d.length / 4);
        });
      },
      { src: `data:image/png;base64,${png.toString('base64')}`, boxes },
    );
  } finally {
    await probe.close();
  }
}

describe('the report in headless Chromium', () => {
  let opened: OpenedReport;
  let file: string;
  beforeAll(async () => {
    file = await samplesReport();
    opened = await openReport(file);
  });
  afterAll(() => opened?.close());

  test('loads with no console errors and requests nothing but the page itself', () => {
    expect(opened.errors).toEqual([]);
    expect(opened.requests).toEqual([expect.stringMatching(/^file:\/\/.*report\.html$/)]);
  });

  test('draws the timeline, every insight chart and the activity charts', async () => {
    const canvases = opened.page.locator('canvas');
    const count = await canvases.count();
    const ids = await canvases.evaluateAll((els) =>
      els.map((e) => e.id || `insight ${e.getAttribute('data-episode')}`),
    );
    expect(ids).toEqual(
      expect.arrayContaining(['chart-timeline', 'chart-principals', 'chart-apis', 'chart-errors', 'chart-signins']),
    );
    expect(count).toBeGreaterThan(5);
    // Chart.js attached a chart to each canvas.
    const attached = await opened.page.evaluate(() =>
      [...document.querySelectorAll('canvas')].every(
        (c) =>
          (window as unknown as { Chart: { getChart(c: HTMLCanvasElement): unknown } }).Chart.getChart(c) !== undefined,
      ),
    );
    expect(attached).toBe(true);
  });

  test('a screenshot shows ink where the charts are, and a blank area shows none', async () => {
    // One full-page screenshot, measured at each canvas's box (page coordinates).
    const png = await opened.page.screenshot({ fullPage: true });
    const boxes = await opened.page.locator('canvas').evaluateAll((els) =>
      els.map((e) => {
        const r = e.getBoundingClientRect();
        return {
          id: e.id || `insight ${e.getAttribute('data-episode')}`,
          x: r.left + window.scrollX,
          y: r.top + window.scrollY,
          width: r.width,
          height: r.height,
        };
      }),
    );
    expect(boxes.length).toBeGreaterThan(5);
    // The control: the page margin beside the content is blank, so the measure can fail.
    const margin = { x: 0, y: 200, width: 20, height: 400 };
    const shares = await inkedShares(opened, png, [...boxes, margin]);
    const marginShare = shares.pop();
    // Axes, grid and data: a drawn chart inks well over 1 % of its box.
    expect(boxes.map((b, i) => ({ id: b.id, enough: (shares[i] ?? 0) > 0.01 }))).toEqual(
      boxes.map((b) => ({ id: b.id, enough: true })),
    );
    expect(marginShare).toBe(0);
  });
});

describe('an insights-only report in headless Chromium', () => {
  test('draws its timeline with no console errors (no series, no activity charts)', async () => {
    const output = path.join(mkdtempSync(path.join(tmpdir(), 'trailsight-report-')), 'insights.html');
    expect((await report('--insights', INSIGHTS_JSONL, '-o', output)).code).toBe(0);
    const opened = await openReport(output);
    try {
      expect(opened.errors).toEqual([]);
      expect(await opened.page.locator('canvas').evaluateAll((els) => els.map((e) => e.id))).toEqual([
        'chart-timeline',
      ]);
    } finally {
      await opened.close();
    }
  });
});
