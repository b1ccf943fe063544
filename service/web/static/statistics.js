// 年度定密和解密统计: a table and a bar chart of our own, from the service.
"use strict";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const SERIES = [
  ["classified", "原定密", "#25344a"],
  ["derived", "派生定密", "#2e6fd1"],
  ["changed", "变更", "#e67e22"],
  ["declassified", "解密", "#27ae60"],
  ["noticesOverdue", "逾期通知", "#c0392b"],
];
const QUERY = `query($year: Int!) { annualStatistics(year: $year) {
  __typename
  ... on AnnualStatistics { csv organisations { organisationId organisationName classified derived
    changed declassified madePublic noticesReceived noticesPending noticesOverdue } }
  ... on Problem { message } } }`;
let found = null;

function element(name, attributes, parent) {
  const made = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) made.setAttribute(key, value);
  parent.append(made);
  return made;
}

function chart(rows) {
  const svg = $("chart");
  svg.replaceChildren();
  const most = Math.max(1, ...rows.flatMap((r) => SERIES.map(([key]) => r[key])));
  const bar = 12, group = SERIES.length * bar + 18, left = 180, width = 700;
  svg.setAttribute("height", String(40 + rows.length * group));
  SERIES.forEach(([, label, colour], i) => {
    element("rect", { x: left + i * 110, y: 4, width: 12, height: 12, fill: colour }, svg);
    element("text", { x: left + i * 110 + 16, y: 15, "font-size": 12 }, svg).textContent = label;
  });
  rows.forEach((row, r) => {
    const top = 30 + r * group;
    element("text", { x: 0, y: top + group / 2, "font-size": 12 }, svg).textContent = row.organisationName;
    SERIES.forEach(([key, label, colour], i) => {
      const rect = element("rect", {
        x: left, y: top + i * bar, height: bar - 2, width: (width * row[key]) / most, fill: colour,
        class: "bar",
      }, svg);
      rect.dataset.organisation = row.organisationId;
      rect.dataset.series = key;
      rect.dataset.value = String(row[key]);
      element("title", {}, rect).textContent = `${row.organisationName} ${label} ${row[key]}`;
      element("text", { x: left + (width * row[key]) / most + 4, y: top + i * bar + bar - 3, "font-size": 10 },
        svg).textContent = String(row[key]);
    });
  });
}

async function show(year) {
  const token = sessionStorage.getItem("lineage-token") || "";
  const response = await fetch("/graphql", {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: QUERY, variables: { year } }),
  });
  if (response.status === 401) throw new Error("请先在血缘查看页面登录。");
  const body = await response.json();
  if (body.errors) throw new Error(body.errors[0].message);
  const result = body.data.annualStatistics;
  if (result.__typename !== "AnnualStatistics") throw new Error(result.message);
  found = result;
  const tbody = $("rows").tBodies[0];
  tbody.replaceChildren();
  for (const r of result.organisations) {
    const tr = tbody.insertRow();
    for (const value of [r.organisationName, r.classified, r.derived, r.changed, r.declassified,
      r.madePublic, r.noticesReceived, r.noticesPending, r.noticesOverdue]) {
      tr.insertCell().textContent = String(value);
    }
  }
  chart(result.organisations);
  $("message").textContent = `${year} 年，${result.organisations.length} 个机关、单位。`;
  $("as-csv").disabled = false;
}

window.addEventListener("DOMContentLoaded", () => {
  $("year").value = String(new Date().getFullYear());
  $("choose").addEventListener("submit", (event) => {
    event.preventDefault();
    show(Number($("year").value)).catch((error) => { $("message").textContent = error.message; });
  });
  $("as-csv").addEventListener("click", () => {
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([found.csv], { type: "text/csv" }));
    link.download = `年度统计-${$("year").value}.csv`;
    link.click();
  });
});

// Kept in the browser's back-forward cache, the page shows what it showed its reader then: if
// the tab's sign-in has changed since (signed out, or another reader), it is loaded afresh.
const reader = sessionStorage.getItem("lineage-token");
window.addEventListener("pageshow", (event) => {
  if (!event.persisted || sessionStorage.getItem("lineage-token") === reader) return;
  document.body.replaceChildren();
  location.reload();
});
