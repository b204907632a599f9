// PLACEHOLDER: Style type and query come with the catalog work.
