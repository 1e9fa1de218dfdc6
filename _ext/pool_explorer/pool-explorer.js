/* The pooling explorer: 2-D max and average pooling, drawn and computed in the page.
 *
 * The rules are PyTorch's (torch.nn.functional.max_pool2d and avg_pool2d), as
 * poolkit implements them; the book's browser test drives every widget of a
 * page through the configurations of _static/pool-explorer/fixture.json and
 * compares what it shows with poolkit's results.
 *
 * Each <div class="pool-explorer" data-config="{...}"> becomes one widget.
 * Nothing is fetched: the input values come from a formula, VALUE below.
 */
(function () {
  "use strict";

  const MINUS = "\u2212";
  // In the Chinese edition (<html lang="zh-CN">) the widget speaks Chinese; PyTorch's own
  // error messages are quoted as PyTorch words them.
  const ZH = typeof document !== "undefined" &&
    (document.documentElement.lang || "").toLowerCase().startsWith("zh");
  const t = (en, zh) => (ZH ? zh : en);
  // Input cell (i, j): a small integer that does not depend on the input's size.
  const VALUE = (i, j) => ((7 * i + 3 * j) % 10) - 4;
  const VALUE_TEXT = "(7i + 3j) mod 10 " + MINUS + " 4";
  // The explorer's ranges; a value outside is clamped, and the widget says so.
  const LIMITS = {
    input: [1, 12], kernel: [1, 12], stride: [0, 12], padding: [0, 6], dilation: [1, 6],
  };
  const NAMES = ZH ? {
    input: ["输入高度", "输入宽度"], kernel: ["窗口高度", "窗口宽度"],
    stride: ["行方向步幅", "列方向步幅"], padding: ["行方向填充", "列方向填充"],
    dilation: ["行方向膨胀", "列方向膨胀"],
  } : {
    input: ["Input height", "Input width"], kernel: ["Kernel height", "Kernel width"],
    stride: ["Stride, rows", "Stride, columns"], padding: ["Padding, rows", "Padding, columns"],
    dilation: ["Dilation, rows", "Dilation, columns"],
  };
  // The legends of the fields, and (Chinese edition) their PyTorch names.
  const LEGENDS = ZH ? {
    input: "输入大小", kernel: "窗口大小 (kernel)", stride: "步幅 (stride)", padding: "填充 (padding)",
    dilation: "膨胀 (dilation)",
  } : { input: "input size", kernel: "kernel", stride: "stride", padding: "padding", dilation: "dilation" };
  const AXIS = (i) => (i === 0 ? t("rows", "行") : t("columns", "列"));
  const PAIRS = ["input", "kernel", "stride", "padding", "dilation"];
  let count = 0;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === false || value === null || value === undefined) continue;
      if (key === "text") node.textContent = value;
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children) node.append(child);
    return node;
  }

  function show(v) {
    if (v === -Infinity) return MINUS + "\u221e";
    const text = Number.isInteger(v) ? String(v) : v.toFixed(2).replace(/0+$/, "");
    return text.replace("-", MINUS);
  }

  const signed = (v) => String(v).replace("-", MINUS);

  /* ---- The rules, one axis at a time (aten/src/ATen/native/Pool.h). ---- */

  // Windows along one axis: length n, kernel k, stride s > 0, padding p, dilation d.
  function axis(n, k, s, p, d, ceil) {
    const span = d * (k - 1) + 1;
    let out = Math.floor((n + 2 * p - span + (ceil ? s - 1 : 0)) / s) + 1;
    let dropped = null;
    if (ceil && (out - 1) * s >= n + p) {
      dropped = (out - 1) * s - p;       // where the dropped window would start
      out -= 1;
    }
    return { n, k, s, p, d, span, out, dropped, ceilCount: dropped === null ? out : out + 1 };
  }

  // Every reason PyTorch has to refuse the arguments, in the order it checks them
  // (so the first message is the one it raises). An axis whose padding breaks the
  // span rule breaks the half-kernel rule too; the half-kernel reason names only the
  // axes the span rule lets through, where it is the one that refuses.
  function refusals(c) {
    const reasons = [];
    const [n, k, s, p, d] = [c.input, c.kernel, c.stride, c.padding, c.dilation];
    for (const i of [0, 1]) {
      const what = AXIS(i);
      if (s[i] === 0) {
        reasons.push({
          kind: "stride", message: "stride should not be zero",
          why: t(`A stride of 0 along the ${what} would never move the window.`,
            `沿${what}方向的步幅为0，窗口永远不会移动。`),
        });
      }
      const span = (k[i] - 1) * d[i] + 1;
      if (p[i] > Math.floor(span / 2)) {
        reasons.push({
          kind: "padding",
          message: `pad should be at most half of effective kernel size, but got pad=${p[i]}, ` +
            `kernel_size=${k[i]} and dilation=${d[i]}`,
          why: t(`Padding ${p[i]} along the ${what} is more than half the window's span, ` +
            `d(k ${MINUS} 1) + 1 = ${span}, rounded down: at most ${Math.floor(span / 2)}.`,
            `沿${what}方向的填充 ${p[i]} 超过了窗口跨度 d(k ${MINUS} 1) + 1 = ${span} 的一半` +
            `（向下取整）：至多为 ${Math.floor(span / 2)}。`),
        });
      }
    }
    const halfOnly = [0, 1].filter((i) => p[i] > Math.floor(k[i] / 2) &&
      p[i] <= Math.floor(((k[i] - 1) * d[i] + 1) / 2));
    if (halfOnly.length) {
      reasons.push({
        kind: "padding",
        message: `pad should be smaller than or equal to half of kernel size, but got ` +
          `padW = ${p[1]}, padH = ${p[0]}, kW = ${k[1]}, kH = ${k[0]}`,
        why: halfOnly.map((i) => t(`Padding ${p[i]} along the ${AXIS(i)} is more ` +
          `than half the kernel size ${k[i]}, rounded down (${Math.floor(k[i] / 2)}), whatever the ` +
          `dilation.`, `沿${AXIS(i)}方向的填充 ${p[i]} 超过了窗口大小 ${k[i]} 的一半` +
          `（向下取整为 ${Math.floor(k[i] / 2)}），无论膨胀是多少。`)).join(t(" ", "")),
      });
    }
    if (s[0] > 0 && s[1] > 0) {
      const rows = axis(n[0], k[0], s[0], p[0], d[0], c.ceil_mode);
      const cols = axis(n[1], k[1], s[1], p[1], d[1], c.ceil_mode);
      if (rows.out < 1 || cols.out < 1) {
        const a = rows.out < 1 ? rows : cols;
        reasons.push({
          kind: "output_size",
          message: `Given input size: (1x${n[0]}x${n[1]}). Calculated output size: ` +
            `(1x${rows.out}x${cols.out}). Output size is too small`,
          why: ZH
            ? `沿${AXIS(a === rows ? 0 : 1)}方向放不下任何窗口` + (c.ceil_mode
              ? `，即使在向上取整模式下也是如此（此时窗口最多可以越出填充后的输入 步幅 ${MINUS} 1 = ` +
                `${a.s - 1} 个格子）` : "") +
              `：窗口跨 ${a.span} 个格子，而填充后的输入只有 ${a.n + 2 * a.p} 个。`
            : c.ceil_mode
            ? `No window fits along the ${a === rows ? "rows" : "columns"}, even in ceil mode, where ` +
              `a window may reach past the padded input by up to stride ${MINUS} 1 = ${a.s - 1} ` +
              `cell${a.s === 2 ? "" : "s"}: the window spans ${a.span} cells, and the padded input ` +
              `has ${a.n + 2 * a.p}.`
            : `No window fits along the ${a === rows ? "rows" : "columns"}: the window spans ` +
              `${a.span} cells, and the padded input has ${a.n + 2 * a.p}.`,
        });
      }
    }
    return reasons;
  }

  // Output cell value and how it was found. rows, cols: the axes; r, c: output indices.
  function pool(c, rows, cols, r, col) {
    const r0 = r * rows.s - rows.p, c0 = col * cols.s - cols.p;
    let best = -Infinity, sum = 0, cells = 0;
    for (let a = 0; a < rows.k; a++) {
      const i = r0 + a * rows.d;
      if (i < 0 || i >= rows.n) continue;
      for (let b = 0; b < cols.k; b++) {
        const j = c0 + b * cols.d;
        if (j < 0 || j >= cols.n) continue;
        const v = VALUE(i, j);
        best = Math.max(best, v);
        sum += v;
        cells += 1;
      }
    }
    if (c.op === "max") return { value: best, cells };
    // Average pooling's divisor (AvgPoolKernel.cpp): the window clipped to the padded
    // input, or, without count_include_pad, to the input itself.
    const extent = (o, a) => {
      const start = o * a.s - a.p;
      const end = Math.min(start + a.k, a.n + a.p);
      return c.count_include_pad ? end - start : Math.min(end, a.n) - Math.max(start, 0);
    };
    const divisor = extent(r, rows) * extent(col, cols);
    return { value: sum / divisor, sum, divisor, cells };
  }

  /* ---- The widget. ---- */

  class Explorer {
    constructor(root) {
      this.root = root;
      this.id = `pe${++count}`;
      const start = JSON.parse(root.dataset.config || "{}");
      this.active = [0, 0];
      this.hover = null;
      this.build(start);
      this.update();
    }

    build(start) {
      const id = this.id;
      this.root.textContent = "";
      this.root.setAttribute("role", "group");
      this.root.setAttribute("aria-label", t("Pooling explorer", "汇聚探索器"));
      const form = el("form", { class: "pe-controls", "aria-label": t("Pooling settings", "汇聚设置") });
      form.addEventListener("submit", (e) => e.preventDefault());
      this.controls = {};

      const kind = el("fieldset", { class: "pe-op" }, el("legend", { text: t("Pooling", "汇聚") }));
      for (const [value, text] of [["max", t("max", "最大")], ["avg", t("average", "平均")]]) {
        const radio = el("input", {
          type: "radio", name: `${id}-op`, id: `${id}-op-${value}`, value,
          "data-param": `op-${value}`, checked: (start.op || "max") === value,
        });
        kind.append(el("span", { class: "pe-choice" }, radio, el("label", { for: `${id}-op-${value}`, text })));
        this.controls[`op-${value}`] = radio;
      }
      form.append(kind);

      for (const name of PAIRS) {
        const set = el("fieldset", { class: `pe-pair pe-${name}` }, el("legend", { text: LEGENDS[name] }));
        if (name === "stride") {
          const same = el("input", {
            type: "checkbox", id: `${id}-stride-default`, "data-param": "stride-default",
            checked: !start.stride,
          });
          set.append(el("span", { class: "pe-choice pe-wide" }, same,
            el("label", { for: `${id}-stride-default`, text: t("= kernel (default)", "= 窗口大小（默认）") })));
          this.controls["stride-default"] = same;
        }
        const initial = start[name] || (name === "stride" ? start.kernel : null) ||
          { input: [4, 4], kernel: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1] }[name];
        ["h", "w"].forEach((axisName, i) => {
          const input = el("input", {
            type: "number", id: `${id}-${name}-${axisName}`, "data-param": `${name}-${axisName}`,
            min: LIMITS[name][0], max: LIMITS[name][1], step: 1, value: initial[i],
            inputmode: "numeric", required: true,
            // The accessible name holds the visible label, "h" or "w".
            "aria-label": ZH ? `${LEGENDS[name]} ${axisName}（${axisName === "h" ? "高" : "宽"}）`
              : `${name} ${axisName} (${axisName === "h" ? "height" : "width"})`,
          });
          set.append(el("span", { class: "pe-number" },
            el("label", { for: input.id, text: axisName }), input));
          this.controls[`${name}-${axisName}`] = input;
        });
        form.append(set);
      }

      const flags = el("fieldset", { class: "pe-flags" }, el("legend", { text: t("options", "选项") }));
      for (const [param, text, on] of [["ceil_mode", "ceil_mode", start.ceil_mode],
                                       ["count_include_pad", "count_include_pad", start.count_include_pad !== false]]) {
        const box = el("input", { type: "checkbox", id: `${id}-${param}`, "data-param": param, checked: Boolean(on) });
        flags.append(el("span", { class: "pe-choice" }, box, el("label", { for: box.id, text })));
        this.controls[param] = box;
      }
      form.append(flags);

      form.addEventListener("input", () => this.update());
      form.addEventListener("change", (e) => { this.update(); this.writeBack(e.target); });

      const formula = el("p", { class: "pe-formula" });
      formula.append(t("Input cell (i, j) holds ", "输入格子 (i, j) 的值为 "), el("code", { text: VALUE_TEXT }),
        t("; padding shows what the pooling reads there.", "；填充处显示汇聚在那里读到的值。"));
      this.refusal = el("div", { class: "pe-refusal", role: "status", "aria-live": "polite", "aria-atomic": "true" });
      this.notes = el("ul", { class: "pe-notes", "aria-live": "polite" });
      this.inputCaption = el("figcaption", { id: `${id}-input-caption` });
      this.inputBox = el("div", { class: "pe-scroll" });
      this.outputCaption = el("figcaption", { id: `${id}-output-caption` });
      this.outputBox = el("div", { class: "pe-scroll" });
      // What the pointer's or the focused cell's window holds, for the eye; a screen reader
      // hears the same text as the focused cell's name, so it is no live region.
      this.detail = el("p", { class: "pe-detail", id: `${id}-detail`, "aria-hidden": "true" });
      const grids = el("div", { class: "pe-grids" },
        el("figure", { class: "pe-input" }, this.inputCaption, this.inputBox),
        el("figure", { class: "pe-output" }, this.outputCaption, this.outputBox));
      const legend = el("p", { class: "pe-legend", "aria-hidden": "true" },
        el("span", { class: "pe-key pe-pad" }), t(" padding ", " 填充 "),
        el("span", { class: "pe-key pe-win" }), t(" window ", " 窗口 "),
        el("span", { class: "pe-key pe-gap" }), t(" skipped by dilation ", " 膨胀跳过的格子 "),
        el("span", { class: "pe-key pe-off" }), t(" past the padding (ceil mode) ", " 填充之外（向上取整模式） "),
        el("span", { class: "pe-key pe-dropped" }), t(" dropped window", " 被丢弃的窗口"));
      this.root.append(form, formula, this.refusal, this.notes, grids, this.detail, legend);
    }

    // Whether the widget ignores a pair's fields: the stride while it follows the kernel,
    // the dilation for average pooling.
    ignored(name) {
      return (name === "stride" && this.controls["stride-default"].checked) ||
        (name === "dilation" && this.controls["op-avg"].checked);
    }

    // The configuration the controls describe, clamped to the explorer's ranges; notes on
    // the values it changed, but none on fields it ignores.
    read() {
      const notes = [];
      const number = (name, i) => {
        const say = (text) => { if (!this.ignored(name)) notes.push(text); };
        const input = this.controls[`${name}-${i === 0 ? "h" : "w"}`];
        const [low, high] = LIMITS[name];
        const raw = input.value.trim() === "" ? NaN : Number(input.value);
        let v = Number.isFinite(raw) ? Math.round(raw) : low;
        if (!Number.isFinite(raw)) say(t(`${NAMES[name][i]} is not a number; using ${low}.`,
          `${NAMES[name][i]}不是数字；改用 ${low}。`));
        else if (v !== raw) say(t(`${NAMES[name][i]} ${signed(raw)} is not an integer; using ${v}.`,
          `${NAMES[name][i]} ${signed(raw)} 不是整数；改用 ${v}。`));
        if (v < low || v > high) {
          const to = Math.min(Math.max(v, low), high);
          say(t(`${NAMES[name][i]} ${signed(v)} is outside the explorer's range ${low}\u2013${high}; using ${to}.`,
            `${NAMES[name][i]} ${signed(v)} 超出了探索器的范围 ${low}\u2013${high}；改用 ${to}。`));
          v = to;
        }
        return v;
      };
      const c = { op: this.controls["op-avg"].checked ? "avg" : "max" };
      for (const name of PAIRS) c[name] = [number(name, 0), number(name, 1)];
      if (this.controls["stride-default"].checked) c.stride = c.kernel.slice();
      if (c.op === "avg") c.dilation = [1, 1];
      c.ceil_mode = this.controls.ceil_mode.checked;
      c.count_include_pad = c.op === "avg" ? this.controls.count_include_pad.checked : null;
      return { config: c, notes };
    }

    // After a change, a number input shows the value the explorer used.
    writeBack(target) {
      if (!target || target.type !== "number") return;
      const [name, axisName] = target.dataset.param.split("-");
      const used = this.config[name][axisName === "h" ? 0 : 1];
      if (!this.ignored(name) && target.value !== String(used)) {
        target.value = used;
      }
    }

    update() {
      const strideDefault = this.controls["stride-default"].checked;
      const average = this.controls["op-avg"].checked;
      for (const a of ["h", "w"]) {
        this.controls[`stride-${a}`].disabled = strideDefault;
        if (strideDefault) this.controls[`stride-${a}`].value = this.controls[`kernel-${a}`].value;
        this.controls[`dilation-${a}`].disabled = average;
      }
      this.controls.count_include_pad.disabled = !average;
      // An input event and the change event after it describe the same settings: draw once.
      const key = JSON.stringify(Object.values(this.controls).map((c) => [c.value, c.checked]));
      if (key === this.drawn) return;
      this.drawn = key;
      const { config: c, notes } = this.read();
      this.config = c;
      if (c.op === "avg" && (this.controls["dilation-h"].value !== "1" || this.controls["dilation-w"].value !== "1")) {
        notes.push(t("avg_pool2d has no dilation; average pooling here uses none.",
          "avg_pool2d 没有膨胀参数；这里的平均汇聚不使用膨胀。"));
      }

      const reasons = refusals(c);
      this.reasons = reasons;
      this.root.dataset.state = reasons.length ? "refused" : "ok";
      // The live regions change only when their text does, so a screen reader does not
      // read them again at each keystroke.
      const refusal = [];
      if (reasons.length) {
        const fn = c.op === "max" ? "max_pool2d" : "avg_pool2d";
        const list = el("ul");
        for (const r of reasons) list.append(el("li", { text: r.why }));
        refusal.push(el("strong", { text: t("PyTorch refuses these arguments.", "PyTorch 拒绝这些参数。") }), " ",
          t(`${fn} raises RuntimeError: `, `${fn} 引发 RuntimeError：`), el("code", { text: reasons[0].message }), list);
      }
      const refusalKey = JSON.stringify([c.op, reasons]);
      if (refusalKey !== this.refusalKey) {
        this.refusalKey = refusalKey;
        this.refusal.removeAttribute("data-kinds");
        this.refusal.removeAttribute("data-message");
        if (reasons.length) {
          this.refusal.dataset.kinds = [...new Set(reasons.map((r) => r.kind))].join(" ");
          this.refusal.dataset.message = reasons[0].message;
        }
        this.refusal.replaceChildren(...refusal);
      }

      let rows = null, cols = null;
      if (c.stride[0] > 0 && c.stride[1] > 0) {
        rows = axis(c.input[0], c.kernel[0], c.stride[0], c.padding[0], c.dilation[0], c.ceil_mode);
        cols = axis(c.input[1], c.kernel[1], c.stride[1], c.padding[1], c.dilation[1], c.ceil_mode);
      }
      this.rows = rows;
      this.cols = cols;
      this.values = null;
      if (!reasons.length) {
        this.values = [];
        for (let r = 0; r < rows.out; r++) {
          const line = [];
          for (let col = 0; col < cols.out; col++) line.push(pool(c, rows, cols, r, col));
          this.values.push(line);
        }
        for (const [a, what, edge] of [[rows, "row", "bottom"], [cols, "column", "right"]]) {
          if (a.dropped !== null) {
            const rule = `(out ${MINUS} 1)\u00b7stride \u2265 in + pad`;
            const here = `${(a.ceilCount - 1) * a.s} \u2265 ${a.n} + ${a.p}`;
            notes.push(ZH
              ? `ceil_mode：向上取整会得到 ${a.ceilCount} ${what === "row" ? "行" : "列"}输出，但最后一个窗口将从第 ` +
                `${a.dropped} ${what === "row" ? "行" : "列"}开始，位于输入的最后一${what === "row" ? "行" : "列"}` +
                `（${a.n - 1}）之后：落在${edge === "bottom" ? "下方" : "右侧"}的填充中或更远处。PyTorch 会丢弃这样的` +
                `窗口：若 ${rule}，则 out ${MINUS}= 1（这里 ${here}），因此输出有 ${a.out} ` +
                `${what === "row" ? "行" : "列"}。`
              : `ceil_mode: rounding up would give ${a.ceilCount} output ${what}s, but the last ` +
              `window would start at ${what} ${a.dropped}, after the input's last ${what} (${a.n - 1}): ` +
              `in the ${edge} padding or beyond it. PyTorch drops such a window: if ${rule}, ` +
              `out ${MINUS}= 1 (here ${here}), so the output has ${a.out} ${what}s.`);
          }
        }
        const empty = this.values.flat().filter((v) => v.cells === 0).length;
        if (empty) {
          notes.push(t(`${empty} window${empty > 1 ? "s" : ""} cover${empty > 1 ? "" : "s"} padding only ` +
            `(dilation steps over every input cell): poolkit returns ${MINUS}\u221e there, as PyTorch does.`,
            `有 ${empty} 个窗口只覆盖填充（膨胀跳过了所有输入格子）：poolkit 在那里返回 ${MINUS}\u221e，` +
            `与 PyTorch 相同。`));
        }
      }
      const notesKey = JSON.stringify(notes);
      if (notesKey !== this.notesKey) {
        this.notesKey = notesKey;
        this.notes.replaceChildren(...notes.map((text) => el("li", { text })));
        this.notes.hidden = notes.length === 0;
      }

      const [outRows, outCols] = this.values ? [rows.out, cols.out] : [0, 0];
      this.active = [Math.min(this.active[0], Math.max(outRows - 1, 0)), Math.min(this.active[1], Math.max(outCols - 1, 0))];
      // The output cells are drawn anew: the one under the pointer is gone with them.
      this.hover = null;
      this.drawInput();
      this.drawOutput();
      this.highlight();
    }

    // The rows (or columns) the input grid shows: the padding, and in ceil mode the
    // cells the last (or dropped) window reaches past it.
    extent(a, i) {
      const n = this.config.input[i], p = this.config.padding[i];
      let end = n + p;
      if (a && this.values) {
        end = Math.max(end, (a.out - 1) * a.s - a.p + a.span);
        if (a.dropped !== null) end = Math.max(end, a.dropped + a.span);
      }
      return [-p, end];
    }

    drawInput() {
      const c = this.config;
      const [r0, r1] = this.extent(this.rows, 0);
      const [c0, c1] = this.extent(this.cols, 1);
      const pad = c.op === "max" ? MINUS + "\u221e" : "0";
      this.inputCaption.textContent = ZH
        ? `输入，${c.input[0]} \u00d7 ${c.input[1]}，填充 ${c.padding[0]} \u00d7 ${c.padding[1]}` +
          `（${c.op === "max" ? "最大" : "平均"}汇聚的填充值为 ${pad}）`
        : `Input, ${c.input[0]} \u00d7 ${c.input[1]}, with padding ` +
          `${c.padding[0]} \u00d7 ${c.padding[1]} (${pad} for ${c.op === "max" ? "max" : "average"} pooling)`;
      const table = el("table", { class: "pe-grid pe-in-grid", "aria-labelledby": this.inputCaption.id });
      const head = el("tr", {}, el("td", { class: "pe-corner" }));
      for (let j = c0; j < c1; j++) head.append(el("th", { scope: "col", text: signed(j) }));
      table.append(el("thead", {}, head));
      const body = el("tbody");
      this.cells = new Map();
      for (let i = r0; i < r1; i++) {
        const tr = el("tr", {}, el("th", { scope: "row", text: signed(i) }));
        for (let j = c0; j < c1; j++) {
          const inside = i >= 0 && i < c.input[0] && j >= 0 && j < c.input[1];
          const padded = i >= -c.padding[0] && i < c.input[0] + c.padding[0] &&
            j >= -c.padding[1] && j < c.input[1] + c.padding[1];
          const td = el("td", {
            class: inside ? "pe-in" : padded ? "pe-pad" : "pe-off", "data-i": i, "data-j": j,
            text: inside ? signed(VALUE(i, j)) : padded ? pad : "",
          });
          if (!inside && !padded) td.setAttribute("aria-label", t("past the padding", "填充之外"));
          this.cells.set(`${i},${j}`, td);
          tr.append(td);
        }
        body.append(tr);
      }
      table.append(body);
      this.inputBox.replaceChildren(table);
    }

    drawOutput() {
      this.outputCells = [];
      if (!this.values) {
        this.outputCaption.textContent = t("Output: none (the arguments are refused)", "输出：无（参数被拒绝）");
        this.outputBox.replaceChildren();
        this.detail.textContent = "";
        return;
      }
      const [rows, cols] = [this.values.length, this.values[0].length];
      const fn = this.config.op === "max" ? "max_pool2d" : "avg_pool2d";
      this.outputCaption.textContent = t(`Output of ${fn}, ${rows} \u00d7 ${cols}`, `${fn} 的输出，${rows} \u00d7 ${cols}`);
      const grid = el("div", {
        class: "pe-grid pe-out-grid", role: "grid", "aria-labelledby": this.outputCaption.id,
        "aria-rowcount": rows, "aria-colcount": cols,
        "data-rows": rows, "data-cols": cols,
      });
      grid.style.gridTemplateColumns = `repeat(${cols}, var(--pe-cell))`;
      this.values.forEach((line, r) => {
        const row = el("div", { role: "row", "aria-rowindex": r + 1, class: "pe-row" });
        const cellsOfRow = [];
        line.forEach((v, col) => {
          const cell = el("div", {
            role: "gridcell", class: "pe-out", tabindex: -1, "aria-colindex": col + 1,
            "data-r": r, "data-c": col, "data-value": String(v.value), text: show(v.value),
            "aria-label": this.explain(r, col),
          });
          cell.addEventListener("focus", () => { this.active = [r, col]; this.highlight(); });
          cell.addEventListener("pointerenter", () => { this.hover = [r, col]; this.highlight(); });
          cell.addEventListener("pointerleave", () => { this.hover = null; this.highlight(); });
          cell.addEventListener("keydown", (e) => this.key(e));
          row.append(cell);
          cellsOfRow.push(cell);
        });
        grid.append(row);
        this.outputCells.push(cellsOfRow);
      });
      this.outputBox.replaceChildren(grid);
    }

    key(e) {
      const [rows, cols] = [this.outputCells.length, this.outputCells[0].length];
      let [r, c] = this.active;
      const moves = {
        ArrowUp: [r - 1, c], ArrowDown: [r + 1, c], ArrowLeft: [r, c - 1], ArrowRight: [r, c + 1],
        Home: e.ctrlKey ? [0, 0] : [r, 0], End: e.ctrlKey ? [rows - 1, cols - 1] : [r, cols - 1],
        PageUp: [0, c], PageDown: [rows - 1, c],
      };
      if (!(e.key in moves)) return;
      e.preventDefault();
      [r, c] = moves[e.key];
      r = Math.min(Math.max(r, 0), rows - 1);
      c = Math.min(Math.max(c, 0), cols - 1);
      this.active = [r, c];
      this.outputCells[r][c].focus();
      this.highlight();
    }

    // Marks the window of the output cell under the pointer, else of the focused one.
    highlight() {
      for (const td of this.cells.values()) td.classList.remove("pe-win", "pe-gap", "pe-dropped");
      const c = this.config;
      for (const a of [this.rows, this.cols]) {
        if (!this.values || !a || a.dropped === null) continue;
        const inRows = a === this.rows;
        const starts = [inRows ? a.dropped : -c.padding[0], inRows ? -c.padding[1] : a.dropped];
        this.mark(starts, "pe-dropped", null);
      }
      if (!this.values) return;
      this.outputCells.flat().forEach((cell) => {
        const mine = Number(cell.dataset.r) === this.active[0] && Number(cell.dataset.c) === this.active[1];
        cell.tabIndex = mine ? 0 : -1;
        cell.classList.toggle("pe-active", mine);
        cell.classList.toggle("pe-hover", Boolean(this.hover) &&
          Number(cell.dataset.r) === this.hover[0] && Number(cell.dataset.c) === this.hover[1]);
      });
      const [r, col] = this.hover || this.active;
      this.mark(this.starts(r, col), "pe-win", "pe-gap");
      const text = this.explain(r, col);
      if (this.detail.textContent !== text) this.detail.textContent = text;
    }

    // Where the window of output cell (r, col) starts, in input rows and columns.
    starts(r, col) {
      return [r * this.rows.s - this.rows.p, col * this.cols.s - this.cols.p];
    }

    // Marks the cells of a window starting at `starts`, and the cells dilation skips.
    mark(starts, hit, gap) {
      const c = this.config;
      for (let a = 0; a < (c.kernel[0] - 1) * c.dilation[0] + 1; a++) {
        for (let b = 0; b < (c.kernel[1] - 1) * c.dilation[1] + 1; b++) {
          const td = this.cells.get(`${starts[0] + a},${starts[1] + b}`);
          if (!td) continue;
          const slot = a % c.dilation[0] === 0 && b % c.dilation[1] === 0;
          if (slot) td.classList.add(hit);
          else if (gap) td.classList.add(gap);
        }
      }
    }

    // What output cell (r, col) holds and how it was found: the text under the grids and
    // the cell's accessible name.
    explain(r, col) {
      const c = this.config;
      const v = this.values[r][col];
      const starts = this.starts(r, col);
      const list = (start, k, d) => Array.from({ length: k }, (_, a) => signed(start + a * d)).join(", ");
      const where = t(`rows ${list(starts[0], c.kernel[0], c.dilation[0])} and columns ` +
        `${list(starts[1], c.kernel[1], c.dilation[1])}`,
        `第 ${list(starts[0], c.kernel[0], c.dilation[0])} 行与第 ${list(starts[1], c.kernel[1], c.dilation[1])} 列`);
      let text;
      if (c.op === "max") {
        text = v.cells === 0
          ? t(`Output (${r}, ${col}) = ${show(v.value)}: its window (${where}) holds padding only, so ` +
            `max pooling returns ${MINUS}\u221e there, as poolkit and PyTorch do.`,
            `输出 (${r}, ${col}) = ${show(v.value)}：它的窗口（${where}）只含填充，所以最大汇聚在那里返回 ` +
            `${MINUS}\u221e，poolkit 与 PyTorch 都是如此。`)
          : t(`Output (${r}, ${col}) = ${show(v.value)}, the largest value of its window: ${where} ` +
            `(padding counts as ${MINUS}\u221e).`,
            `输出 (${r}, ${col}) = ${show(v.value)}，即其窗口中的最大值：${where}（填充按 ${MINUS}\u221e 计）。`);
      } else {
        const counted = c.count_include_pad ? t("the window's cells inside the padded input", "窗口在填充后输入之内的格子")
          : t("the window's cells inside the input (count_include_pad=False)", "窗口在输入之内的格子（count_include_pad=False）");
        // "=" when the value shown is exact, "\u2248" when it is rounded.
        const exact = Number(show(v.value).replace(MINUS, "-")) === v.value;
        const value = `${signed(v.sum)} / ${v.divisor} ${exact ? "=" : "\u2248"} ${show(v.value)}`;
        text = t(`Output (${r}, ${col}) = ${value}: the sum of ` +
          `its window (${where}; padding adds 0), divided by the number of ${counted}.`,
          `输出 (${r}, ${col}) = ${value}：其窗口（${where}；填充加0）之和，除以${counted}的个数。`);
      }
      return text;
    }
  }

  function start() {
    document.querySelectorAll(".pool-explorer").forEach((root) => {
      if (!root.explorer) root.explorer = new Explorer(root);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
