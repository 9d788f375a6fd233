// GraphiQL served by sandboxql itself (pinned npm release, no CDN). Queries go to
// /graphql over HTTP, subscriptions over the graphql-transport-ws websocket; the token the
// playground signed in with is prefilled as the Authorization header.
(function () {
  const token = localStorage.getItem('sandboxql.token');
  const auth = token ? { Authorization: `Bearer ${token}` } : {};
  const ws = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`;
  const fetcher = GraphiQL.createFetcher({
    url: '/graphql',
    subscriptionUrl: ws,
    wsConnectionParams: auth,
  });
  const root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(React.createElement(GraphiQL, {
    fetcher,
    defaultHeaders: JSON.stringify(auth, null, 2),
    defaultQuery: '{ viewer { id name } }\n',
    shouldPersistHeaders: false,
  }));
})();
