/* The Ontology GraphiQL page: example tabs from graphql/*.graphql, and an API key
 * kept in this browser's localStorage and sent as `Authorization: Bearer <key>`.
 * Plain ES5 + React.createElement: no build step; every file is served by the app. */
(function () {
  "use strict";
  var KEY_STORAGE = "ontology.apiKey";
  var h = React.createElement;
  var config = JSON.parse(document.getElementById("ontology-graphiql-config").textContent);
  var endpoint = window.location.href.split("#")[0].split("?")[0];

  function readKey() {
    try {
      return window.localStorage.getItem(KEY_STORAGE) || "";
    } catch (e) {
      return "";
    }
  }

  function writeKey(key) {
    try {
      if (key) window.localStorage.setItem(KEY_STORAGE, key);
      else window.localStorage.removeItem(KEY_STORAGE);
    } catch (e) {
      /* storage disabled: the key lives until the page is closed */
    }
  }

  // `ontology serve --demo` prints a link ending in `#key=<key>`. A fragment never
  // reaches the server: the key is saved for this browser, then removed from the
  // address bar (and from this history entry) before anything else runs.
  function takeKeyFromFragment() {
    var match = /^#key=([^&]+)$/.exec(window.location.hash);
    if (!match) return "";
    var key = "";
    try {
      key = decodeURIComponent(match[1]).trim();
    } catch (e) {
      /* not a key: dropped with the fragment */
    }
    if (key) writeKey(key);
    window.history.replaceState(
      window.history.state,
      "",
      window.location.pathname + window.location.search
    );
    return key;
  }

  function webSocketUrl(url) {
    var parsed = new URL(url);
    parsed.protocol = parsed.protocol === "https:" ? "wss:" : "ws:";
    return parsed.toString();
  }

  function makeFetcher(key) {
    var auth = key ? { Authorization: "Bearer " + key } : {};
    var inner = GraphiQL.createFetcher({
      url: endpoint,
      subscriptionUrl: webSocketUrl(endpoint),
      wsConnectionParams: auth,
    });
    return function (params, options) {
      var merged = Object.assign({}, options || {});
      // Headers typed in GraphiQL's own editor win over the saved key.
      merged.headers = Object.assign({}, auth, (options && options.headers) || {});
      return inner(params, merged);
    };
  }

  function KeyBar(props) {
    var draft = React.useState("");
    var saved = props.apiKey;
    function save(event) {
      event.preventDefault();
      var key = draft[0].trim();
      if (!key) return;
      props.onChange(key);
      draft[1]("");
    }
    return h(
      "form",
      { className: "ontology-keybar", onSubmit: save },
      h("label", { htmlFor: "ontology-api-key" }, "API key"),
      h("input", {
        id: "ontology-api-key",
        type: "password",
        autoComplete: "off",
        placeholder: saved ? "saved; paste another to replace it" : "paste a key (ont_…)",
        value: draft[0],
        onChange: function (event) {
          draft[1](event.target.value);
        },
      }),
      h("button", { id: "ontology-save-key", type: "submit" }, "Save"),
      h(
        "button",
        {
          id: "ontology-forget-key",
          type: "button",
          disabled: !saved,
          onClick: function () {
            props.onChange("");
          },
        },
        "Forget"
      ),
      h(
        "span",
        { id: "ontology-key-status", className: "ontology-key-status" },
        saved
          ? "Key …" + saved.slice(-4) + " saved in this browser; sent as Authorization: Bearer."
          : "No key: queries get 401 until you paste one."
      )
    );
  }

  // (with storage disabled, the key still lives until the page is closed)
  var startKey = takeKeyFromFragment() || readKey();

  function App() {
    var state = React.useState(startKey);
    var apiKey = state[0];
    var fetcher = React.useMemo(
      function () {
        return makeFetcher(apiKey);
      },
      [apiKey]
    );
    function changeKey(key) {
      writeKey(key);
      state[1](key);
    }
    return h(
      React.Fragment,
      null,
      h(KeyBar, { apiKey: apiKey, onChange: changeKey }),
      h(
        "div",
        { className: "ontology-editor" },
        h(GraphiQL, {
          fetcher: fetcher,
          defaultQuery: config.defaultQuery,
          defaultTabs: config.examples.map(function (example) {
            return { query: example.query };
          }),
          defaultEditorToolsVisibility: true,
          shouldPersistHeaders: false,
        })
      )
    );
  }

  ReactDOM.createRoot(document.getElementById("graphiql")).render(h(App));
})();
