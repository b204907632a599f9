// PLACEHOLDER: Media type, uploadMedia, media, gallery, deleteMedia come with the media work.
