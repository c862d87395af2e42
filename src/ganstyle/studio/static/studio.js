// ganstyle studio front end: plain JavaScript, no build step, no network but this server.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { options: null, content: null, styles: new Set(), styliseJob: null, trainJob: null,
                trainRun: null, run: null, jobs: [] };

async function api(path, opts = {}) {
  const headers = Object.assign({ "X-Studio": "1" }, opts.headers || {});
  const response = await fetch(path, Object.assign({}, opts, { headers }));
  let data = null;
  try { data = await response.json(); } catch (e) { data = null; }
  if (!response.ok) throw new Error((data && data.error) || `request failed (HTTP ${response.status})`);
  return data;
}
const post = (path, body) => api(path, { method: "POST", body: JSON.stringify(body),
                                          headers: { "Content-Type": "application/json" } });
const fileUrl = (rel) => "/files/" + rel.split("/").map(encodeURIComponent).join("/");
const fresh = (rel) => fileUrl(rel) + "?t=" + Date.now();
function setError(id, err) { $(id).textContent = err ? String(err.message || err) : ""; }
function fill(select, values, labels) {
  select.innerHTML = "";
  values.forEach((v, i) => { const o = document.createElement("option"); o.value = v;
                             o.textContent = labels ? labels[i] : v; select.appendChild(o); });
}

// ------------------------------------------------------------------ tabs
document.querySelectorAll("nav .tab").forEach((tab) => tab.addEventListener("click", () => {
  document.querySelectorAll("nav .tab").forEach((t) => t.classList.toggle("active", t === tab));
  document.querySelectorAll(".page").forEach((p) => p.classList.toggle("active", p.id === "page-" + tab.dataset.page));
  if (tab.dataset.page === "runs") loadRuns();
}));

// ------------------------------------------------------------------ images and uploads
function thumb(item, selected, onClick) {
  const img = document.createElement("img");
  img.src = fileUrl(item.path); img.title = item.name; img.alt = item.name; img.dataset.path = item.path;
  img.classList.toggle("selected", selected);
  img.addEventListener("click", onClick);
  return img;
}

async function loadImages() {
  const cat = await api("/api/images");
  const contentBox = $("content-thumbs"), styleBox = $("style-thumbs");
  contentBox.innerHTML = ""; styleBox.innerHTML = "";
  const contents = cat.content.concat(cat.uploads), styles = cat.styles.concat(cat.uploads);
  if (!state.content && contents.length) state.content = contents[0].path;
  if (!state.styles.size && cat.styles.length) state.styles.add(cat.styles[0].path);
  contents.forEach((it) => contentBox.appendChild(thumb(it, it.path === state.content, () => {
    state.content = it.path; loadImages(); })));
  styles.forEach((it) => styleBox.appendChild(thumb(it, state.styles.has(it.path), () => {
    if (state.styles.has(it.path)) state.styles.delete(it.path); else state.styles.add(it.path);
    loadImages(); })));
  const data = $("tr-data"), keep = data.value;
  fill(data, state.options.data.concat(cat.datasets.map((d) => d.path)),
       state.options.data.concat(cat.datasets.map((d) => "upload: " + d.name)));
  if (keep) data.value = keep;
  const model = $("st-model"), keepModel = model.value;
  fill(model, [""].concat(cat.models.map((m) => m.path)), ["(shipped / none)"].concat(cat.models.map((m) => m.name)));
  model.value = keepModel;
  return cat;
}

async function upload(file, errorId) {
  setError(errorId, null);
  try {
    const saved = await api("/api/upload?name=" + encodeURIComponent(file.name), { method: "POST", body: file });
    return saved;
  } catch (err) { setError(errorId, err); return null; }
}
$("content-upload").addEventListener("change", async (e) => {
  const saved = e.target.files[0] && await upload(e.target.files[0], "upload-error");
  e.target.value = "";
  if (saved) { state.content = saved.path; await loadImages(); }
});
$("style-upload").addEventListener("change", async (e) => {
  const saved = e.target.files[0] && await upload(e.target.files[0], "upload-error");
  e.target.value = "";
  if (saved) { state.styles.add(saved.path); await loadImages(); }
});
$("zip-upload").addEventListener("change", async (e) => {
  const saved = e.target.files[0] && await upload(e.target.files[0], "train-error");
  e.target.value = "";
  if (saved) { await loadImages(); $("tr-data").value = saved.path; }
});

// ------------------------------------------------------------------ stylise
function methodChanged() {
  const m = $("st-method").value;
  document.querySelectorAll(".gatys-only").forEach((el) => { el.hidden = m !== "gatys"; });
  document.querySelectorAll(".model-only").forEach((el) => { el.hidden = m === "gatys"; });
}
$("st-method").addEventListener("change", methodChanged);

$("stylise-run").addEventListener("click", async () => {
  setError("stylise-error", null);
  const method = $("st-method").value;
  const body = { kind: "stylize", method, content: state.content, styles: Array.from(state.styles),
                 size: $("st-size").value, strength: $("st-strength").value, preserve_color: $("st-color").value };
  if (method === "gatys") Object.assign(body, { iterations: $("st-iterations").value, backbone: $("st-backbone").value });
  else if ($("st-model").value) body.model = $("st-model").value;
  try {
    const job = await post("/api/jobs", body);
    state.styliseJob = job.id;
    $("compare-before").src = fileUrl(job.outputs.content);
    $("compare-after").removeAttribute("src");
    $("download").hidden = true;
    $("stylise-status").textContent = "queued";
    refreshJobs();
  } catch (err) { setError("stylise-error", err); }
});

function showStyliseJob(job) {
  $("stylise-progress").style.width = Math.round(100 * (job.progress || 0)) + "%";
  $("stylise-status").textContent = job.state + (job.message && job.state !== "failed" ? "" : "");
  if (job.state === "running" && job.preview) $("compare-after").src = fresh(job.preview);
  if (job.state === "failed") setError("stylise-error", job.error);
  if (job.state === "done") {
    const after = $("compare-after");
    if (after.dataset.result !== job.outputs.result) {
      after.dataset.result = job.outputs.result;
      after.src = fresh(job.outputs.result);
      const link = $("download");
      link.href = fileUrl(job.outputs.result);
      link.setAttribute("download", job.outputs.result.split("/").pop());
      link.hidden = false;
    }
  }
}
function syncCompare() {
  const before = $("compare-before");
  $("after-clip").style.width = $("compare-slider").value + "%";
  $("compare-after").style.width = before.clientWidth + "px";
}
$("compare-slider").addEventListener("input", syncCompare);
$("compare-before").addEventListener("load", syncCompare);
window.addEventListener("resize", syncCompare);

// ------------------------------------------------------------------ plots
function plotLosses(canvas, rows) {
  const ctx = canvas.getContext("2d"), W = canvas.width, H = canvas.height, pad = 32;
  ctx.clearRect(0, 0, W, H);
  const cols = ["d_loss", "g_loss"].filter((c) => rows.some((r) => r[c] !== undefined && r[c] !== ""));
  const pts = rows.filter((r) => r.step !== "" && r.step !== undefined);
  ctx.fillStyle = "#667"; ctx.font = "11px sans-serif";
  if (!pts.length || !cols.length) { ctx.fillText("no losses logged yet", pad, H / 2); return; }
  const xs = pts.map((r) => +r.step), ys = [];
  cols.forEach((c) => pts.forEach((r) => { if (r[c] !== "" && isFinite(+r[c])) ys.push(+r[c]); }));
  const x0 = Math.min(...xs), x1 = Math.max(...xs, x0 + 1), y0 = Math.min(...ys), y1 = Math.max(...ys, y0 + 1e-6);
  const X = (x) => pad + (W - 2 * pad) * (x - x0) / (x1 - x0), Y = (y) => H - pad - (H - 2 * pad) * (y - y0) / (y1 - y0);
  ctx.strokeStyle = "#d8dce4"; ctx.strokeRect(pad, pad, W - 2 * pad, H - 2 * pad);
  ctx.fillText(y1.toPrecision(3), 2, pad + 4); ctx.fillText(y0.toPrecision(3), 2, H - pad);
  ctx.fillText("step " + x1, W - pad - 50, H - 8);
  const colours = { d_loss: "#b3261e", g_loss: "#2f5fb3" };
  cols.forEach((c, i) => {
    ctx.strokeStyle = colours[c]; ctx.lineWidth = 1.5; ctx.beginPath();
    let first = true;
    pts.forEach((r) => { if (r[c] === "" || !isFinite(+r[c])) return;
      if (first) { ctx.moveTo(X(+r.step), Y(+r[c])); first = false; } else ctx.lineTo(X(+r.step), Y(+r[c])); });
    ctx.stroke(); ctx.fillStyle = colours[c]; ctx.fillText(c, pad + 8 + 60 * i, pad - 8);
  });
  canvas.dataset.points = String(pts.length);
}

// ------------------------------------------------------------------ train
$("train-start").addEventListener("click", async () => {
  setError("train-error", null);
  const body = { kind: "train", data: $("tr-data").value, model: $("tr-model").value, loss: $("tr-loss").value,
                 steps: $("tr-steps").value, image_size: $("tr-size").value, name: $("tr-name").value,
                 sample_every: $("tr-sample-every").value };
  try {
    const job = await post("/api/jobs", body);
    state.trainJob = job.id; state.trainRun = job.outputs.run;
    $("train-status").textContent = "queued: " + job.outputs.run;
    refreshJobs();
  } catch (err) { setError("train-error", err); }
});
$("train-stop").addEventListener("click", async () => {
  try { await post(`/api/jobs/${state.trainJob}/stop`, {}); refreshJobs(); } catch (err) { setError("train-error", err); }
});
$("train-resume").addEventListener("click", async () => {
  setError("train-error", null);
  try {
    const job = await post("/api/jobs", { kind: "resume", run: state.trainRun, steps: $("tr-steps").value });
    state.trainJob = job.id; refreshJobs();
  } catch (err) { setError("train-error", err); }
});

async function showTrainJob(job) {
  const active = job.state === "running" || job.state === "queued";
  $("train-stop").disabled = !active;
  $("train-resume").disabled = active || !["stopped", "done", "failed"].includes(job.state);
  $("train-status").textContent = `${job.state}: ${state.trainRun}` +
    (job.progress != null ? ` (${Math.round(100 * job.progress)}%)` : "") + (job.state === "stopped" ? " — checkpoint saved" : "");
  if (job.state === "failed") setError("train-error", job.error);
  if (job.state === "queued") return;
  try {
    const run = await api("/api/run?path=" + encodeURIComponent(state.trainRun));
    plotLosses($("loss-plot"), run.metrics);
    const img = $("live-sample");
    if (run.latest_sample && img.dataset.path !== run.latest_sample) { img.dataset.path = run.latest_sample; img.src = fresh(run.latest_sample); }
  } catch (err) { /* the run directory appears a moment after the job starts */ }
}

// ------------------------------------------------------------------ runs
async function loadRuns() {
  const { runs } = await api("/api/runs");
  const list = $("run-list"); list.innerHTML = "";
  runs.forEach((r) => {
    const li = document.createElement("li");
    li.dataset.path = r.path; li.classList.toggle("selected", r.path === state.run);
    li.innerHTML = "<span></span><small></small>";
    li.firstChild.textContent = r.name;
    li.lastChild.textContent = `step ${r.step} · checkpoints ${r.checkpoints.join(", ") || "none"}`;
    li.addEventListener("click", () => { state.run = r.path; loadRuns(); showRun(); });
    list.appendChild(li);
  });
}
function figure(rel, caption) {
  const f = document.createElement("figure"), img = document.createElement("img"), c = document.createElement("figcaption");
  img.src = fresh(rel); img.alt = caption; c.textContent = caption; f.append(img, c); return f;
}
async function showRun() {
  if (!state.run) return;
  setError("run-error", null);
  const run = await api("/api/run?path=" + encodeURIComponent(state.run));
  $("run-title").textContent = run.name; $("run-body").hidden = false;
  $("run-info").textContent = `${run.path} · step ${run.step} · checkpoints at ${run.checkpoints.join(", ") || "none"}`;
  plotLosses($("run-plot"), run.metrics);
  const samples = $("run-samples"); samples.innerHTML = "";
  run.samples.forEach((s) => samples.appendChild(figure(s, s.split("/").pop().replace(".png", ""))));
  const outs = $("run-outputs"); outs.innerHTML = "";
  run.outputs.filter((o) => o.endsWith(".png")).forEach((o) => outs.appendChild(figure(o, o.split("/").pop())));
  run.outputs.filter((o) => o.endsWith(".json")).forEach((o) => {
    const a = document.createElement("a"); a.href = fileUrl(o); a.textContent = o.split("/").pop(); a.target = "_blank"; outs.appendChild(a);
  });
  const rows = run.metrics.slice(-15), table = $("run-metrics"); table.innerHTML = "";
  if (rows.length) {
    const cols = Object.keys(rows[0]);
    const head = document.createElement("tr");
    cols.forEach((c) => { const th = document.createElement("th"); th.textContent = c; head.appendChild(th); });
    table.appendChild(head);
    rows.forEach((r) => { const tr = document.createElement("tr");
      cols.forEach((c) => { const td = document.createElement("td"); td.textContent = r[c]; tr.appendChild(td); });
      table.appendChild(tr); });
  }
  $("run-config").textContent = run.config;
}
async function runAction(body) {
  setError("run-error", null);
  try { await post("/api/jobs", Object.assign({ run: state.run }, body)); refreshJobs(); } catch (err) { setError("run-error", err); }
}
$("rs-sample").addEventListener("click", () => runAction({ kind: "sample", n: $("rs-n").value }));
$("rs-class-go").addEventListener("click", () => runAction({ kind: "sample", n: $("rs-n").value, label: $("rs-class").value }));
$("rs-interp-go").addEventListener("click", () => runAction({ kind: "sample", n: 4, interpolate: $("rs-interp").value }));
$("rs-eval").addEventListener("click", () => runAction({ kind: "eval", metrics: $("rs-metrics").value, n: $("rs-n").value }));

// ------------------------------------------------------------------ jobs
async function stopJob(id) { try { await post(`/api/jobs/${id}/stop`, {}); refreshJobs(); } catch (err) { alert(err.message); } }

async function refreshJobs() {
  let jobs;
  try { jobs = (await api("/api/jobs")).jobs; } catch (err) { return; }
  const before = new Map(state.jobs.map((j) => [j.id, j.state]));
  state.jobs = jobs;
  const body = document.querySelector("#job-table tbody"); body.innerHTML = "";
  jobs.slice().reverse().forEach((job) => {
    const tr = document.createElement("tr"); tr.dataset.id = job.id; tr.className = "job state-" + job.state;
    const pct = job.progress != null ? Math.round(100 * job.progress) + "%" : (job.state === "running" ? "…" : "");
    tr.innerHTML = "<td class='title'></td><td class='state'></td><td class='pct'></td><td></td>";
    tr.children[0].textContent = job.title;
    tr.title = "ganstyle " + job.argv.join(" ");  // the command this job runs
    tr.children[1].textContent = job.state; tr.children[2].textContent = pct;
    if (job.error) { const d = document.createElement("div"); d.className = "msg"; d.textContent = job.error; tr.children[0].appendChild(d); }
    if (job.state === "running" || job.state === "queued") {
      const b = document.createElement("button"); b.textContent = job.state === "queued" ? "Cancel" : "Stop";
      b.addEventListener("click", () => stopJob(job.id)); tr.children[3].appendChild(b);
    }
    body.appendChild(tr);
  });
  const styl = jobs.find((j) => j.id === state.styliseJob);
  if (styl) showStyliseJob(styl);
  const train = jobs.find((j) => j.id === state.trainJob);
  if (train && (train.state === "running" || before.get(train.id) !== train.state || !$("loss-plot").dataset.points)) await showTrainJob(train);
  const finishedRunJob = jobs.some((j) => j.outputs && j.outputs.run === state.run && before.get(j.id) && before.get(j.id) !== j.state);
  if (finishedRunJob && document.querySelector("#page-runs.active")) { loadRuns(); showRun(); }
}

// ------------------------------------------------------------------ start
(async function start() {
  state.options = await api("/api/options");
  fill($("st-method"), state.options.methods);
  fill($("st-backbone"), state.options.backbones);
  fill($("st-color"), state.options.color_modes);
  fill($("tr-model"), state.options.models);
  state.options.losses.forEach((l) => { const o = document.createElement("option"); o.value = l; o.textContent = l; $("tr-loss").appendChild(o); });
  methodChanged();
  await loadImages();
  // Pick up the newest training and stylise jobs after a page reload.
  await refreshJobs();
  const lastTrain = state.jobs.filter((j) => j.kind === "train" || j.kind === "resume").pop();
  if (lastTrain) { state.trainJob = lastTrain.id; state.trainRun = lastTrain.outputs.run; await showTrainJob(lastTrain); }
  const lastStylise = state.jobs.filter((j) => j.kind === "stylize").pop();
  if (lastStylise) { state.styliseJob = lastStylise.id; $("compare-before").src = fileUrl(lastStylise.outputs.content); showStyliseJob(lastStylise); }
  setInterval(refreshJobs, 1000);
})();
