// The instant panel: sliders -> scoreDigit (ntl_math.js) -> numbers and SVG charts, all in the browser.
// CONFIG (logits, target, labels, colours, gradient floor) is injected by pages/_ui/instant_explorer.py.
"use strict";

const NS = "http://www.w3.org/2000/svg";
const fmt = (v) => v.toFixed(4);

function el(tag, attrs, parent, text) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  if (parent) parent.appendChild(node);
  return node;
}

function drawDistribution(svg, score, target) {
  svg.replaceChildren();
  const W = 600, H = 170, left = 30, bottom = 24, top = 18, bw = (W - left) / 10;
  const y = (v) => top + (H - top - bottom) * (1 - v);
  el("text", { x: left, y: 12, class: "title" }, svg, `p(digit); true digit ${target} in green; dashed: ŷ = ${score.expected.toFixed(2)}`);
  score.probs.forEach((p, j) => {
    el("rect", { x: left + j * bw + 3, y: y(p), width: bw - 6, height: y(0) - y(p),
                 fill: j === target ? CONFIG.targetColour : CONFIG.otherColour }, svg);
    el("text", { x: left + j * bw + bw / 2, y: H - 8, class: "tick" }, svg, String(j));
  });
  const xs = left + (score.expected + 0.5) * bw;
  el("line", { x1: xs, x2: xs, y1: top, y2: y(0), class: "mean" }, svg);
  el("text", { x: 2, y: y(1) + 4, class: "axis" }, svg, "1");
  el("text", { x: 2, y: y(0), class: "axis" }, svg, "0");
}

function drawGradients(svg, score, target) {
  svg.replaceChildren();
  const names = CONFIG.names, W = 600, H = 190, top = 30, bottom = 20, gap = 8;
  const pw = (W - gap * (names.length - 1)) / names.length;
  const shown = Object.fromEntries(names.map((n) => [n, score.gradients[n].map((g) => (Math.abs(g) < CONFIG.floor ? 0 : g))]));
  const top1 = Math.max(...names.flatMap((n) => shown[n].map(Math.abs)));
  const span = top1 > 0 ? top1 * 1.1 : 1;
  const y = (v) => top + (H - top - bottom) * (0.5 - v / (2 * span));
  el("text", { x: 0, y: 12, class: "title" }, svg,
     `∂loss/∂logit, one shared scale (±${span.toPrecision(2)}); |values| < ${CONFIG.floor} drawn as 0`);
  names.forEach((n, i) => {
    const x0 = i * (pw + gap), bw = pw / 10;
    const zero = shown[n].every((g) => g === 0);
    el("text", { x: x0 + pw / 2, y: top - 6, class: "panel" }, svg, zero ? `${n} (≈ 0)` : n);
    el("line", { x1: x0, x2: x0 + pw, y1: y(0), y2: y(0), class: "zero" }, svg);
    shown[n].forEach((g, j) => {
      const a = y(Math.max(g, 0)), b = y(Math.min(g, 0));
      el("rect", { x: x0 + j * bw + 1, y: a, width: bw - 2, height: Math.max(b - a, 0), fill: CONFIG.colours[n] }, svg);
    });
    const tx = x0 + (target + 0.5) * bw;
    el("line", { x1: tx, x2: tx, y1: top, y2: H - bottom, class: "target" }, svg);
  });
}

function render(logits, target) {
  const score = scoreDigit(logits, target);
  for (const n of CONFIG.names) document.getElementById(`m-${n}`).textContent = fmt(score.losses[n]);
  document.getElementById("m-yhat").textContent = fmt(score.expected);
  drawDistribution(document.getElementById("dist"), score, target);
  drawGradients(document.getElementById("grad"), score, target);
}

function setup() {
  const logits = CONFIG.logits.slice();
  let target = CONFIG.target;
  const metrics = document.getElementById("metrics");
  for (const n of [...CONFIG.names, "yhat"]) {
    const box = document.createElement("div");
    box.className = "metric";
    box.innerHTML = `<div class="label">${n === "yhat" ? "expected value ŷ" : n}</div><div class="value" id="m-${n}"></div>`;
    metrics.appendChild(box);
  }
  const sliders = document.getElementById("sliders");
  logits.forEach((v, j) => {
    const label = document.createElement("label");
    label.innerHTML = `z${j} <span id="v-${j}">${v.toFixed(2)}</span>`;
    const input = document.createElement("input");
    Object.assign(input, { type: "range", min: -CONFIG.limit, max: CONFIG.limit, step: 0.01, value: v, id: `z-${j}` });
    input.setAttribute("aria-label", `instant logit z${j}`);
    input.addEventListener("input", (e) => {
      logits[j] = parseFloat(input.value);
      document.getElementById(`v-${j}`).textContent = logits[j].toFixed(2);
      update(e);
    });
    label.appendChild(input);
    sliders.appendChild(label);
  });
  const targetInput = document.getElementById("target");
  targetInput.value = target;
  targetInput.addEventListener("input", (e) => {
    target = parseInt(targetInput.value, 10);
    document.getElementById("target-value").textContent = String(target);
    update(e);
  });
  document.getElementById("target-value").textContent = String(target);

  // Settle time of one interaction: from the input event to the next painted frame (read by benchmarks/).
  function update(e) {
    render(logits, target);
    requestAnimationFrame(() => {
      document.body.dataset.settleMs = (performance.now() - e.timeStamp).toFixed(2);
      document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
    });
  }
  render(logits, target);
  document.body.dataset.ready = "1";
}

setup();
