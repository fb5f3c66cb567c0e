//! dpop-axum's integration tests, in one binary (house style B5): the layer and the extractor,
//! the counters through the layer, and the JWT and introspection resolvers (features `jwt` and
//! `introspection`).

mod counters;
mod layer;
#[cfg(all(feature = "jwt", feature = "introspection"))]
mod resolvers;
