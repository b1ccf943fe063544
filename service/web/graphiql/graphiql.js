// GraphiQL at GET /graphql, from the service's own files: strawberry's page (MIT) without
// its CDN and its inline script. The headers panel carries the bearer token, to /graphql by
// POST and, for a subscription, to the WebSocket in connection_init (graphql-transport-ws).
// The token is not kept: neither in the browser's storage nor in the address (the query and
// its variables are, so that a page may be shared or reloaded without it).
"use strict";

(function () {
  const WELCOME = `# 派生国家秘密血缘服务 GraphiQL
#
# 先在下方 Headers 面板中填入令牌：
#
#     {"Authorization": "Bearer lin_…"}
#
# 再按 Ctrl-Enter 或运行按钮执行；订阅经 WebSocket 发送。
# 左下角的刷新按钮用令牌载入 schema（文档与自动补全）。
# 页面不保存令牌：刷新页面后须重新填入。

{
  me { userId personId organisationId roles }
}
`;

  const parameters = new URLSearchParams(window.location.search);

  function remember(name, value) {
    if (value) {
      parameters.set(name, value);
    } else {
      parameters.delete(name);
    }
    const search = parameters.toString();
    history.replaceState(null, "", search ? "?" + search : window.location.pathname);
  }

  const url = window.location.href.split(/[?#]/)[0];
  const socket = new URL(url);
  socket.protocol = socket.protocol === "https:" ? "wss:" : "ws:";

  // GraphiQL keeps its tabs and its history in the browser's storage, and its history keeps
  // each request's headers, and so the token, even with shouldPersistHeaders off. This
  // storage writes them as null. What an older page stored there is cleaned once, here.
  const NAMESPACE = "graphiql:";
  const HOLDING_HEADERS = ["queries", "favorites", "tabState"].map((name) => NAMESPACE + name);

  function withoutHeaders(value) {
    try {
      return JSON.stringify(JSON.parse(value), (key, inner) => (key === "headers" ? null : inner));
    } catch (error) {
      return value;
    }
  }

  function ours() {
    return Object.keys(localStorage).filter((key) => key.startsWith(NAMESPACE));
  }

  const storage = {
    getItem: (key) => localStorage.getItem(key),
    setItem: function (key, value) {
      if (key === NAMESPACE + "headers") {
        return;
      }
      localStorage.setItem(key, HOLDING_HEADERS.includes(key) ? withoutHeaders(value) : value);
    },
    removeItem: (key) => localStorage.removeItem(key),
    get length() {
      return ours().length;
    },
    clear: () => ours().forEach((key) => localStorage.removeItem(key)),
  };
  localStorage.removeItem(NAMESPACE + "headers");
  HOLDING_HEADERS.forEach(function (key) {
    const value = localStorage.getItem(key);
    if (value !== null) {
      localStorage.setItem(key, withoutHeaders(value));
    }
  });

  const fetcher = GraphiQL.createFetcher({ url: url, subscriptionUrl: socket.toString() });
  const explorer = GraphiQLPluginExplorer.explorerPlugin();

  function Page() {
    const [query, setQuery] = React.useState(parameters.get("q") || WELCOME);
    const [variables, setVariables] = React.useState(parameters.get("variables") || undefined);
    return React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultEditorToolsVisibility: true,
      plugins: [explorer],
      query: query,
      variables: variables,
      onEditQuery: function (value) {
        setQuery(value);
        remember("q", value);
      },
      onEditVariables: function (value) {
        setVariables(value);
        remember("variables", value);
      },
      inputValueDeprecation: true,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
      storage: storage,
    });
  }

  ReactDOM.createRoot(document.getElementById("graphiql")).render(React.createElement(Page));
})();
