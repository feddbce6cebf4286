// Rendering a benchmark report: the Markdown table and an SVG bar chart of rows/s.

export function markdownTable(report) {
  const lines = [
    `pyudf benchmark — ${report.machine.cores} cores, Node ${report.machine.node}, Python ${report.machine.python}${report.smoke ? ' (smoke run: small sizes, figures not meaningful)' : ''}`,
    '',
    '| case | rows | median s | rows/s | notes |',
    '| --- | ---: | ---: | ---: | --- |',
  ];
  for (const c of report.cases) {
    lines.push(`| ${c.name} | ${c.rows.toLocaleString('en')} | ${c.seconds.toFixed(3)} | ${Math.round(c.rowsPerSecond).toLocaleString('en')} | ${c.notes ?? ''} |`);
  }
  lines.push('', '| target | measured | goal | met |', '| --- | ---: | ---: | :---: |');
  for (const t of report.targets) lines.push(`| ${t.name} | ${t.measured} | ${t.goal} | ${t.met ? 'yes' : 'no'} |`);
  return lines.join('\n');
}

const escapeXml = (text) => text.replace(/[<>&"]/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[ch]);

/** A horizontal bar per case, log-scaled: the cases span five orders of magnitude. */
export function svgChart(report) {
  const cases = report.cases.filter((c) => c.rowsPerSecond > 0);
  const width = 900;
  const barHeight = 26;
  const left = 300;
  const top = 40;
  const height = top + cases.length * (barHeight + 8) + 30;
  const max = Math.log10(Math.max(...cases.map((c) => c.rowsPerSecond)) * 1.5);
  const scale = (v) => (Math.log10(Math.max(v, 1)) / max) * (width - left - 120);
  const bars = cases.map((c, i) => {
    const y = top + i * (barHeight + 8);
    const w = Math.max(2, scale(c.rowsPerSecond));
    return [
      `<text x="${left - 10}" y="${y + 18}" text-anchor="end" font-size="13">${escapeXml(c.name)}</text>`,
      `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barHeight}" fill="#3b6ea5"/>`,
      `<text x="${(left + w + 6).toFixed(1)}" y="${y + 18}" font-size="13">${Math.round(c.rowsPerSecond).toLocaleString('en')} rows/s</text>`,
    ].join('');
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="15">pyudf: rows per second by case (log scale)${report.smoke ? ' — smoke run' : ''}</text>`,
    ...bars,
    '</svg>',
  ].join('\n');
}
