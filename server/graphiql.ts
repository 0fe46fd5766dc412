/**
 * GraphiQL at /graphql (GET with `Accept: text/html`). Yoga's own page loads GraphiQL's
 * scripts and styles from a public CDN, so it is blank on a machine without internet access;
 * `@graphql-yoga/render-graphiql` inlines them in the page instead (about 9 MB, built per
 * page load in a few ms), so GraphiQL works offline and behind a firewall.
 */
import type { GraphiQLOptions } from 'graphql-yoga';
export { renderGraphiQL } from '@graphql-yoga/render-graphiql';

/** What a new GraphiQL tab opens with: a look at the catalog, and where to see the cache work. */
export const catalogDefaultQuery = `# A product, and each category's first products.
# Run it twice (the pink button, or Ctrl-Enter)
# with devtools open on Network. The /graphql
# response headers say what the cache did:
#   X-Cache: MISS  executed; the answer is stored
#   X-Cache: HIT   served from the cache
#   Cache-Control  max-age=60 (Product's hint, the
#                  shortest here), public
#   Age            seconds a hit had been stored
# Add \`stock\` and it lives 5 s. \`me { email }\`,
# with {"Authorization": "Bearer token-1"} under
# Headers, is PRIVATE: stored for that user alone.
# After an updateProduct of product 7, the next
# run is a MISS with the new data.
query Catalog {
  product(id: "7") {
    name
    price
    category { name }
    reviews { rating author { name } }
  }
  categories {
    name
    products(first: 3) { name price }
  }
}
`;

export const catalogGraphiQL: GraphiQLOptions = {
  title: 'Catalog GraphiQL',
  defaultQuery: catalogDefaultQuery,
};
