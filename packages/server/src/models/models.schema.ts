// PLACEHOLDER: Model type and queries come with the catalog work.
