// 已解密事项目录: the catalogue from the service, as a table and as files to download.
"use strict";

const $ = (id) => document.getElementById(id);
const QUERY = `query($since: Date!, $until: Date!) {
  declassifiedCatalogue(since: $since, until: $until) {
    __typename
    ... on DeclassifiedCatalogue { entries { itemId title documentNumber organisationId
      organisationName declassifiedOn reason articles } csv }
    ... on Problem { message } } }`;
let found = null;

async function show(since, until) {
  const token = sessionStorage.getItem("lineage-token") || "";
  const response = await fetch("/graphql", {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: QUERY, variables: { since, until } }),
  });
  if (response.status === 401) throw new Error("请先在血缘查看页面登录。");
  const body = await response.json();
  if (body.errors) throw new Error(body.errors[0].message);
  const result = body.data.declassifiedCatalogue;
  if (result.__typename !== "DeclassifiedCatalogue") throw new Error(result.message);
  found = result;
  const rows = $("entries").tBodies[0];
  rows.replaceChildren();
  for (const e of result.entries) {
    const tr = rows.insertRow();
    tr.dataset.id = e.itemId;
    for (const text of [e.title, e.documentNumber, e.organisationName, e.declassifiedOn, e.reason]) {
      tr.insertCell().textContent = text;
    }
  }
  $("message").textContent = `共 ${result.entries.length} 项。`;
  $("as-csv").disabled = $("as-json").disabled = false;
}

function download(name, type, text) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([text], { type }));
  link.download = name;
  link.click();
  URL.revokeObjectURL(link.href);
}

window.addEventListener("DOMContentLoaded", () => {
  const today = new Date().toISOString().slice(0, 10);
  $("until").value = today;
  $("since").value = `${new Date().getFullYear()}-01-01`;
  $("range").addEventListener("submit", (event) => {
    event.preventDefault();
    show($("since").value, $("until").value).catch((error) => { $("message").textContent = error.message; });
  });
  $("as-csv").addEventListener("click", () =>
    download(`已解密事项目录-${found.since}-${found.until}.csv`, "text/csv", found.csv));
  $("as-json").addEventListener("click", () =>
    download(`已解密事项目录-${found.since}-${found.until}.json`, "application/json",
      JSON.stringify(found.entries, null, 2)));
});

// Kept in the browser's back-forward cache, the page shows what it showed its reader then: if
// the tab's sign-in has changed since (signed out, or another reader), it is loaded afresh.
const reader = sessionStorage.getItem("lineage-token");
window.addEventListener("pageshow", (event) => {
  if (!event.persisted || sessionStorage.getItem("lineage-token") === reader) return;
  document.body.replaceChildren();
  location.reload();
});
