// 派生国家秘密血缘查看：a small renderer over the layout the server computes (lineageGraph).
// No third-party code and no network but this service: it works on an intranet as it is.
// Every text from the graph goes in through textContent, never as markup.
// A sign-in is a session of this document: signing out, or signing in with another token,
// ends it by discarding the document (a fresh one is loaded in its place), so that nothing one
// reader saw (drawing, details, results, forms, variables, caches, requests under way) can
// reach the next; storage and the history entry are emptied first (endSession).
"use strict";

const NODE_W = 200, NODE_H = 62, GAP_X = 40, GAP_Y = 70;
const SVG = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);

const TOKEN = "lineage-token";    // in sessionStorage: the catalogue and statistics pages use it
const NOTICE = "lineage-notice";  // a message for the next document: why the last one ended

const state = {
  token: sessionStorage.getItem(TOKEN) || "",
  me: null,
  root: null,
  graph: null,          // {nodes, edges} as lineageGraph returns them
  byId: new Map(),
  collapsed: new Set(), // nodes whose descendants are folded away
  folded: new Set(),    // nodes whose ancestors are folded away (the root stays)
  selected: null,
  view: { x: 0, y: 0, k: 1 },
};

// --- talking to the service -------------------------------------------------------------

// Every request of the session: aborted when it ends, and an answer that comes anyway is
// dropped (it rejects with an AbortError, which failed() ignores).
const requests = new AbortController();

async function gql(query, variables = {}) {
  const { signal } = requests;
  const response = await fetch("/graphql", {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${state.token}` },
    body: JSON.stringify({ query, variables }),
    cache: "no-store",
    signal,
  });
  if (response.status === 401) {
    const reason = "令牌无效或已吊销，请重新登录。";
    endSession(reason);
    throw new Error(reason);
  }
  const body = await response.json();
  signal.throwIfAborted();
  if (body.errors && body.errors.length) throw new Error(body.errors[0].message);
  return body.data;
}

function say(text) { $("message").textContent = text || ""; }

function failed(error) {
  if (requests.signal.aborted) return;  // the session has ended: nothing more is shown
  say(error.message || String(error));
}

// --- signing in -----------------------------------------------------------------------------

const ROLE = { HANDLER: "承办人", OFFICIAL: "定密责任人", SUPERVISOR: "监督检查人员", ADMINISTRATOR: "系统管理员" };

async function signIn(token) {
  state.token = token.trim();
  const data = await gql("{ me { userId name personId organisationId roles } }");
  state.me = data.me;
  sessionStorage.setItem(TOKEN, state.token);
  $("signin").querySelector("button").textContent = "换用此令牌";
  $("whoami").hidden = false;
  $("user").textContent = `${data.me.name}（${data.me.roles.map((r) => ROLE[r]).join("、")}）`;
  document.querySelector("main").hidden = false;
  say("");
  const fromUrl = new URLSearchParams(location.search).get("item");
  if (fromUrl) await load(fromUrl);
}

// Ends the session: storage cleared (but for why it ended and the token to sign in with
// next, if one was given), then the document discarded.
function endSession(reason = "", nextToken = "") {
  sessionStorage.clear();
  localStorage.clear();
  if (reason) sessionStorage.setItem(NOTICE, reason);
  if (nextToken) sessionStorage.setItem(TOKEN, nextToken);
  discard();
}

// Requests aborted, the page emptied and the variables forgotten at once, the history entry
// stripped of its state and query, and the document replaced by a fresh one: replaced, it
// leaves no history entry to go back to.
function discard() {
  requests.abort();
  document.body.replaceChildren();
  for (const key of Object.keys(state)) state[key] = null;
  history.replaceState(null, "", location.pathname);
  location.replace(location.pathname);
}

// --- searching ------------------------------------------------------------------------------

async function search(text) {
  const data = await gql(
    `query($text: String) { items(filter: {text: $text}, first: 50) {
       ... on ItemConnection { edges { node { id title marking statusLabel } } }
       ... on Problem { message } } }`,
    { text },
  );
  const list = $("results");
  list.replaceChildren();
  const edges = data.items.edges || [];
  if (!edges.length) say("没有找到您可以知悉的事项。");
  for (const { node } of edges) {
    const li = document.createElement("li");
    li.textContent = `${node.title}（${node.marking || node.statusLabel}）`;
    li.dataset.id = node.id;
    li.addEventListener("click", () => load(node.id).catch(failed));
    list.append(li);
  }
}

// --- loading and drawing --------------------------------------------------------------------

async function load(id) {
  const data = await gql(
    `query($id: ID!, $direction: Direction!, $depth: Int) {
       lineageGraph(id: $id, direction: $direction, depth: $depth) {
         __typename
         ... on LineageGraph { root nodeCount redacted data }
         ... on Problem { message } } }`,
    { id, direction: $("direction").value, depth: Number($("depth").value) || null },
  );
  const found = data.lineageGraph;
  if (found.__typename !== "LineageGraph") throw new Error(found.message);
  state.root = found.root;
  state.graph = found.data;
  state.byId = new Map(found.data.nodes.map((n) => [n.id, n]));
  state.collapsed.clear();
  state.folded.clear();
  state.selected = null;
  const shown = found.nodeCount - found.redacted;
  $("title").textContent = `「${state.byId.get(found.root).title}」的谱系：${found.nodeCount} 个事项`
    + (found.redacted ? `，其中 ${found.redacted} 个无权知悉` : "");
  draw();
  fit();
  $("details").replaceChildren(Object.assign(document.createElement("p"),
    { className: "empty", textContent: `已载入 ${shown} 个可知悉的事项。点击事项查看详情。` }));
  $("impact").hidden = true;
  return found;
}

function levelClass(node) {
  if (node.redacted) return "redacted";
  if (node.status !== "CLASSIFIED") return "declassified";
  return (node.level || "").toLowerCase();
}

function clip(text, size) { return text.length > size ? text.slice(0, size - 1) + "…" : text; }

function element(name, attributes = {}, parent = null) {
  const made = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) made.setAttribute(key, value);
  if (parent) parent.append(made);
  return made;
}

function place(node) { return { x: node.x * (NODE_W + GAP_X), y: node.y * (NODE_H + GAP_Y) }; }

function draw() {
  const nodes = $("nodes"), edges = $("edges");
  const nodeFragment = document.createDocumentFragment();
  const edgeFragment = document.createDocumentFragment();
  for (const edge of state.graph.edges) {
    const from = place(state.byId.get(edge.parentId)), to = place(state.byId.get(edge.childId));
    const x1 = from.x + NODE_W / 2, y1 = from.y + NODE_H, x2 = to.x + NODE_W / 2, y2 = to.y;
    const bend = (y2 - y1) / 2;
    const path = element("path", { d: `M${x1},${y1} C${x1},${y1 + bend} ${x2},${y2 - bend} ${x2},${y2}` },
      edgeFragment);
    path.dataset.child = edge.childId;
    path.dataset.parent = edge.parentId;
    element("title", {}, path).textContent = edge.caseLabel;
  }
  // Citations (D-14): an item cited, not a basis, drawn dotted from the cited item down to
  // the one citing it; the layout puts the cited one above where it can.
  for (const citation of state.graph.citations || []) {
    const from = place(state.byId.get(citation.citedId)), to = place(state.byId.get(citation.itemId));
    const x1 = from.x + NODE_W / 2, y1 = from.y + NODE_H, x2 = to.x + NODE_W / 2, y2 = to.y;
    const bend = (y2 - y1) / 2;
    const path = element("path", {
      class: "citation",
      d: `M${x1},${y1} C${x1},${y1 + bend} ${x2},${y2 - bend} ${x2},${y2}`,
    }, edgeFragment);
    path.dataset.child = citation.itemId;
    path.dataset.parent = citation.citedId;
    path.dataset.kind = citation.kind;
    element("title", {}, path).textContent = citation.note ? `${citation.label}：${citation.note}` : citation.label;
  }
  for (const node of state.graph.nodes) {
    const at = place(node);
    const g = element("g", { transform: `translate(${at.x},${at.y})` }, nodeFragment);
    g.setAttribute("class", `node ${levelClass(node)}${node.id === state.root ? " root" : ""}`);
    g.dataset.id = node.id;
    g.dataset.redacted = String(node.redacted);
    element("rect", { class: "box", width: NODE_W, height: NODE_H, rx: 6 }, g);
    element("text", { x: 8, y: 18 }, g).textContent = clip(node.title, 15);
    if (!node.redacted) {
      element("text", { x: 8, y: 36, class: "marking" }, g).textContent = node.marking || "—";
      element("text", { x: 8, y: 53, class: "status" }, g).textContent = clip(node.statusLabel, 16);
    }
    if (node.openNotices > 0) {
      const badge = element("g", { class: "badge", transform: `translate(${NODE_W - 14},14)` }, g);
      element("circle", { r: 10 }, badge);
      element("text", { "text-anchor": "middle", y: 4 }, badge).textContent = String(node.openNotices);
      element("title", {}, badge).textContent = `待处理变更通知 ${node.openNotices} 份`;
    }
    g.addEventListener("click", (event) => { event.stopPropagation(); select(node.id).catch(failed); });
  }
  nodes.replaceChildren(nodeFragment);
  edges.replaceChildren(edgeFragment);
  applyCollapse();
}

// --- zoom and pan ---------------------------------------------------------------------------

function applyView() {
  const { x, y, k } = state.view;
  $("viewport").setAttribute("transform", `translate(${x},${y}) scale(${k})`);
}

function fit() {
  const svg = $("drawing");
  const box = svg.getBoundingClientRect();
  const xs = state.graph.nodes.map((n) => place(n).x), ys = state.graph.nodes.map((n) => place(n).y);
  const width = Math.max(...xs) + NODE_W - Math.min(...xs), height = Math.max(...ys) + NODE_H - Math.min(...ys);
  const k = Math.min(1.5, Math.max(0.02, Math.min(box.width / (width + 40), box.height / (height + 40))));
  state.view = {
    k,
    x: (box.width - width * k) / 2 - Math.min(...xs) * k,
    y: 20 - Math.min(...ys) * k,
  };
  applyView();
}

function zoomAt(factor, cx, cy) {
  const { x, y, k } = state.view;
  const next = Math.min(4, Math.max(0.02, k * factor));
  state.view = { k: next, x: cx - ((cx - x) * next) / k, y: cy - ((cy - y) * next) / k };
  applyView();
}

function wireZoomAndPan() {
  const svg = $("drawing");
  svg.addEventListener("wheel", (event) => {
    event.preventDefault();
    const box = svg.getBoundingClientRect();
    zoomAt(event.deltaY < 0 ? 1.15 : 1 / 1.15, event.clientX - box.left, event.clientY - box.top);
  }, { passive: false });
  let drag = null;
  svg.addEventListener("pointerdown", (event) => {
    drag = { x: event.clientX, y: event.clientY, from: { ...state.view } };
    svg.classList.add("panning");
  });
  window.addEventListener("pointermove", (event) => {
    if (!drag) return;
    state.view = { ...drag.from, x: drag.from.x + event.clientX - drag.x, y: drag.from.y + event.clientY - drag.y };
    applyView();
  });
  window.addEventListener("pointerup", () => { drag = null; svg.classList.remove("panning"); });
  svg.addEventListener("keydown", (event) => {
    const box = svg.getBoundingClientRect();
    if (event.key === "+" || event.key === "=") zoomAt(1.2, box.width / 2, box.height / 2);
    if (event.key === "-") zoomAt(1 / 1.2, box.width / 2, box.height / 2);
  });
}

// --- expand and collapse --------------------------------------------------------------------

function reach(id, upward) {
  const next = new Map();
  for (const e of state.graph.edges) {
    const [from, to] = upward ? [e.childId, e.parentId] : [e.parentId, e.childId];
    if (!next.has(from)) next.set(from, []);
    next.get(from).push(to);
  }
  const found = new Set(), stack = [id];
  while (stack.length) {
    for (const other of next.get(stack.pop()) || []) {
      if (!found.has(other)) { found.add(other); stack.push(other); }
    }
  }
  return found;
}

function applyCollapse() {
  const hidden = new Set();
  for (const id of state.collapsed) for (const d of reach(id, false)) hidden.add(d);
  for (const id of state.folded) for (const a of reach(id, true)) if (a !== state.root) hidden.add(a);
  for (const g of $("nodes").children) {
    g.classList.toggle("hidden", hidden.has(g.dataset.id));
    g.classList.toggle("collapsed", state.collapsed.has(g.dataset.id) || state.folded.has(g.dataset.id));
  }
  for (const path of $("edges").children) {
    path.classList.toggle("hidden", hidden.has(path.dataset.child) || hidden.has(path.dataset.parent));
  }
}

// --- details --------------------------------------------------------------------------------

const DETAILS = `query($id: ID!) { item(id: $id) {
  id kind title documentNumber organisationId issuedOn statusLabel marking expiry
  scope { persons organisations }
  keypoints { id title classification { marking } declassified }
  explanation { summary articles notes
    contributions { refId title redacted classification { marking } governsLevel governsPeriod } }
  records { id kind handlerId officialId decidedOn summary }
} }`;

// The forms to print and file: a 审核表 of a review record, the written record of any
// (D-11, D-13), as the chosen format; a PDF arrives base64-encoded.
const REVIEW_FORM = `query($ids: [ID!]!) { reviewForm(recordIds: $ids) {
  ... on PrintedForm { title reference FIELDS } ... on Problem { message } } }`;
const RECORD_FORM = `query($id: ID!) { recordForm(recordId: $id) {
  ... on PrintedForm { title reference FIELDS } ... on Problem { message } } }`;
const REVIEWED = new Set(["REVIEW", "CHANGE", "DECLASSIFICATION"]);
const FORMATS = {
  pdf: ["application/pdf", (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0))],
  html: ["text/html", (text) => text],
  csv: ["text/csv", (text) => text],
};

async function printForm(query, variables, field) {
  const format = $("form-format").value;
  const data = await gql(query.replace("FIELDS", format), variables);
  const form = data[field];
  if (form.message) throw new Error(form.message);
  const [type, body] = FORMATS[format];
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([body(form[format])], { type }));
  link.download = `${form.title}-${form.reference}.${format}`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

function row(list, term, value) {
  list.append(Object.assign(document.createElement("dt"), { textContent: term }));
  list.append(Object.assign(document.createElement("dd"), { textContent: value }));
}

function button(text, action) {
  const made = Object.assign(document.createElement("button"), { type: "button", textContent: text });
  made.addEventListener("click", () => Promise.resolve(action()).catch(failed));
  return made;
}

async function select(id) {
  state.selected = id;
  for (const g of $("nodes").children) g.classList.toggle("selected", g.dataset.id === id);
  const node = state.byId.get(id);
  const panel = $("details");
  panel.replaceChildren();
  const heading = Object.assign(document.createElement("h2"), { textContent: node.title });
  panel.append(heading);
  const actions = Object.assign(document.createElement("div"), { className: "actions" });
  for (const [set, open, close] of [[state.folded, "展开上游", "收起上游"], [state.collapsed, "展开下游", "收起下游"]]) {
    actions.append(button(set.has(id) ? open : close, () => {
      if (set.has(id)) set.delete(id); else set.add(id);
      applyCollapse();
      return select(id);
    }));
  }
  if (node.redacted) {
    panel.append(Object.assign(document.createElement("p"), {
      className: "empty",
      textContent: "该事项不在您的知悉范围内（D-10）：只显示其在谱系中的位置。",
    }));
    panel.append(actions);
    $("impact").hidden = true;
    return;
  }
  actions.append(button("以此为中心", () => load(id)));
  panel.append(actions);
  const data = await gql(DETAILS, { id });
  const item = data.item;
  if (!item) { panel.append(document.createTextNode("无权知悉或已不存在。")); return; }
  const list = document.createElement("dl");
  row(list, "标识", item.id);
  row(list, "文号", item.documentNumber || "—");
  row(list, "类别", item.kind === "SOURCE" ? "原定密事项" : "派生事项");
  row(list, "标志", item.marking || "—");
  row(list, "状态", item.statusLabel);
  row(list, "解密时间", item.expiry || "—");
  row(list, "制发日期", item.issuedOn);
  row(list, "定密单位", item.organisationId);
  row(list, "知悉范围", [...item.scope.organisations, ...item.scope.persons].join("、"));
  row(list, "待处理通知", `${node.openNotices} 份`);
  panel.append(list);
  if (item.keypoints.length) {
    panel.append(Object.assign(document.createElement("h3"), { textContent: "密点" }));
    const ul = document.createElement("ul");
    for (const k of item.keypoints) {
      ul.append(Object.assign(document.createElement("li"), {
        textContent: `${k.title}（${k.classification.marking}${k.declassified ? "，已解密" : ""}）`,
      }));
    }
    panel.append(ul);
  }
  if (item.explanation) {
    const box = Object.assign(document.createElement("div"), { className: "explanation" });
    box.append(Object.assign(document.createElement("h3"), { textContent: "定密说明" }));
    box.append(Object.assign(document.createElement("p"), { textContent: item.explanation.summary }));
    for (const note of item.explanation.notes) {
      box.append(Object.assign(document.createElement("p"), { textContent: note }));
    }
    box.append(Object.assign(document.createElement("p"),
      { textContent: `依据条款：${item.explanation.articles.join("、")}` }));
    panel.append(box);
  }
  if (item.records.length) {
    panel.append(Object.assign(document.createElement("h3"), { textContent: "书面记录" }));
    const format = Object.assign(document.createElement("select"), { id: "form-format" });
    for (const [value, label] of [["pdf", "PDF"], ["html", "HTML（可打印）"], ["csv", "CSV"]]) {
      format.append(Object.assign(document.createElement("option"), { value, textContent: label }));
    }
    const choose = Object.assign(document.createElement("label"), { textContent: "表格格式 " });
    choose.append(format);
    panel.append(choose);
    const ol = document.createElement("ol");
    for (const r of item.records) {
      const li = Object.assign(document.createElement("li"), {
        textContent: `${r.decidedOn} ${r.summary}（承办人 ${r.handlerId || "—"}，定密责任人 ${r.officialId || "—"}）`,
      });
      const forms = Object.assign(document.createElement("div"), { className: "actions" });
      forms.append(button("书面记录", () => printForm(RECORD_FORM, { id: r.id }, "recordForm")));
      if (REVIEWED.has(r.kind)) {
        forms.append(button("审核表", () => printForm(REVIEW_FORM, { ids: [r.id] }, "reviewForm")));
      }
      li.dataset.record = r.id;
      li.append(forms);
      ol.append(li);
    }
    panel.append(ol);
  }
  showImpactForm(item);
}

// --- impact preview and commit --------------------------------------------------------------

function showImpactForm(item) {
  const form = $("impact");
  if (item.kind !== "SOURCE" || item.statusLabel !== "国家秘密") { form.hidden = true; return; }
  form.hidden = false;
  $("impact-source").textContent = item.title;
  form.dataset.source = item.id;
  const keypoints = $("impact-keypoints");
  keypoints.replaceChildren();
  const open = item.keypoints.filter((k) => !k.declassified);
  if (open.length) {
    keypoints.append(document.createTextNode("只解密这些密点（部分解密，X-14）："));
    for (const k of open) {
      const label = document.createElement("label");
      const box = Object.assign(document.createElement("input"), { type: "checkbox", value: k.id });
      box.className = "keypoint";
      label.append(box, document.createTextNode(` ${k.title}`));
      keypoints.append(label);
    }
  }
  $("impact-summary").replaceChildren();
  $("commit-form").hidden = true;
}

function proposed() {
  const source = $("impact").dataset.source;
  const action = document.querySelector("input[name=action]:checked").value;
  const keypointIds = [...document.querySelectorAll("#impact-keypoints input.keypoint:checked")].map((b) => b.value);
  if (action === "declassify") return { itemId: source, declassify: true, keypointIds };
  return { itemId: source, level: $("impact-level").value };
}

function actionCounts(declassify, change, review) {
  return `将解密 ${declassify} 项，将变更 ${change} 项，须审核 ${review} 项`;
}

function clearImpact() {
  for (const g of $("nodes").children) delete g.dataset.impact;
  $("impact-summary").replaceChildren();
}

async function preview() {
  clearImpact();
  const data = await gql(
    `query($change: ProposedChangeInput!) { impactAnalysis(change: $change) {
       __typename
       ... on ImpactAnalysis { item { version } total redacted toDeclassify toChange toReview
         allToDeclassify allToChange allToReview
         byOrganisation { organisationId organisationName total hidden toDeclassify toChange toReview }
         entries(first: 500) { edges { node { id redacted actions } } } }
       ... on Problem { message } } }`,
    { change: proposed() },
  );
  const report = data.impactAnalysis;
  if (report.__typename !== "ImpactAnalysis") throw new Error(report.message);
  // The decision is committed on the version analysed: if someone else decides on the source
  // meanwhile, the commit is refused (Conflict) rather than made on what was not analysed.
  $("impact").dataset.version = report.item.version;
  const entries = report.entries.edges.map((edge) => edge.node);
  let drawn = 0;
  for (const entry of entries) {
    const g = $("nodes").querySelector(`g.node[data-id="${CSS.escape(entry.id)}"]`);
    if (!g) continue;
    drawn += 1;
    if (entry.redacted) continue;
    g.dataset.impact = entry.actions.includes("DECLASSIFY") ? "declassify"
      : entry.actions.includes("REVIEW") ? "review" : "change";
  }
  const summary = $("impact-summary");
  // Counts over every descendant that would have to act, those the reader may not read
  // included: "0 to declassify" beside placeholders must not read as "nothing happens".
  // Per holding organisation, counts only: nothing of any item it may not read (D-10).
  summary.replaceChildren(Object.assign(document.createElement("p"), {
    textContent: `共 ${report.total} 项须随之处理`
      + (report.redacted ? `，其中 ${report.redacted} 项无权知悉` : "")
      + `：${actionCounts(report.allToDeclassify, report.allToChange, report.allToReview)}`
      + (drawn < entries.length ? `；${entries.length - drawn} 项不在当前图中` : "")
      + "。尚未写入任何内容。",
  }));
  if (report.byOrganisation.length) {
    const list = Object.assign(document.createElement("ul"), { id: "impact-organisations" });
    for (const t of report.byOrganisation) {
      const li = document.createElement("li");
      li.dataset.organisation = t.organisationId;
      li.textContent = `${t.organisationName || t.organisationId}：${t.total} 项`
        + (t.hidden ? `（其中 ${t.hidden} 项无权知悉）` : "")
        + `，${actionCounts(t.toDeclassify, t.toChange, t.toReview)}`;
      list.append(li);
    }
    summary.append(Object.assign(document.createElement("p"), { textContent: "按持有单位：" }), list);
  }
  const mayDecide = state.me.roles.includes("OFFICIAL");
  $("commit-form").hidden = !mayDecide;
  $("reason-row").hidden = !proposed().declassify;
  if (!mayDecide) summary.append(Object.assign(document.createElement("p"),
    { className: "empty", textContent: "只有定密责任人可以作出决定。" }));
}

async function commit() {
  const change = proposed();
  const common = {
    itemId: change.itemId, handlerId: $("commit-handler").value.trim(), basis: $("commit-basis").value,
    expectedVersion: Number($("impact").dataset.version),
  };
  const result = change.declassify
    ? (await gql(
      `mutation($input: DeclassifyInput!) { declassify(input: $input) {
         __typename ... on ChangeCommitted { noticeCount change { summary } } ... on Problem { message } } }`,
      { input: { ...common, reason: $("commit-reason").value, keypointIds: change.keypointIds } },
    )).declassify
    : (await gql(
      `mutation($input: ChangeClassificationInput!) { changeClassification(input: $input) {
         __typename ... on ChangeCommitted { noticeCount change { summary } } ... on Problem { message } } }`,
      { input: { ...common, level: change.level } },
    )).changeClassification;
  if (result.__typename === "Conflict") {
    $("commit-form").hidden = true;  // analyse again before deciding
    throw new Error(`${result.message}请重新分析影响。`);
  }
  if (result.__typename !== "ChangeCommitted") throw new Error(result.message);
  await load(state.root);
  say(`${result.change.summary}已发出变更通知 ${result.noticeCount} 份。`);
}

// --- wiring ---------------------------------------------------------------------------------

window.addEventListener("DOMContentLoaded", () => {
  wireZoomAndPan();
  $("signin").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = $("token").value.trim();
    $("token").value = "";
    // Another token while signed in: whoever it is, nothing of this session may stay.
    if (state.token) endSession("", token); else signIn(token).catch(failed);
  });
  $("signout").addEventListener("click", () => endSession("已退出。"));
  $("search").addEventListener("submit", (event) => {
    event.preventDefault();
    search($("query").value).catch(failed);
  });
  $("reload").addEventListener("click", () => state.root && load(state.root).catch(failed));
  $("fit").addEventListener("click", () => state.graph && fit());
  $("impact-form").addEventListener("submit", (event) => { event.preventDefault(); preview().catch(failed); });
  $("impact-clear").addEventListener("click", clearImpact);
  $("commit-form").addEventListener("submit", (event) => { event.preventDefault(); commit().catch(failed); });
  say(sessionStorage.getItem(NOTICE));
  sessionStorage.removeItem(NOTICE);
  if (state.token) signIn(state.token).catch(failed);
});

// A document the browser kept to go back or forward to (its back-forward cache) shows the
// reader it was made for: if the tab's sign-in has changed since, it is discarded too.
window.addEventListener("pageshow", (event) => {
  if (event.persisted && (sessionStorage.getItem(TOKEN) || "") !== (state.token || "")) discard();
});

// For the benchmark and the browser test: the drawing's own numbers, read in the page.
window.lineageViewer = { state, load, draw, fit, zoomAt, select, preview };
