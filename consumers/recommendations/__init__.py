"""ShopSmart recommendations: a hybrid recommender that learns from shop events, a precomputed cache, an
ANN fallback, and the API and storefront that serve them."""
