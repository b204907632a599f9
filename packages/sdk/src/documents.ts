// Every GraphQL document the SDK sends, in one place for GraphQL Code Generator, which
// writes each as a typed `...Document` constant into generated/graphql.ts. The SDK's modules
// import those constants, never this file: a bundle then keeps only the documents it uses
// (the generated `graphql()` lookup table would hold them all).
import { graphql } from './generated/gql.ts';

// catalog.ts
graphql(`
  fragment ModelFields on Model {
    key
    name
    description
    outputKind
    modes
    minReferences
    maxReferences
    promptLimit
    defaultNegativePrompt
    sizes
    qualities
    inputFidelities
    maxVideoArea
    parameters {
      name
      type
      description
      default
      min
      max
      step
      options
      modes
    }
  }
`);

// catalog.ts
graphql(`
  fragment StyleFields on Style {
    key
    name
    category
    description
    template
  }
`);

// catalog.ts
graphql(`
  query Models($mode: GenerationMode) {
    models(mode: $mode) {
      ...ModelFields
    }
  }
`);

// catalog.ts
graphql(`
  query Styles {
    styles {
      ...StyleFields
    }
  }
`);

// media.ts
graphql(`
  fragment MediaFields on Media {
    id
    kind
    purpose
    mimeType
    width
    height
    durationMs
    bytes
    sha256
    hasAlpha
    originalName
    createdAt
    url
    thumbnailUrl
  }
`);

// media.ts
graphql(`
  mutation UploadMedia($file: Upload!, $purpose: MediaPurpose) {
    uploadMedia(file: $file, purpose: $purpose) {
      __typename
      ... on UploadMediaSuccess {
        media {
          ...MediaFields
        }
      }
      ... on Error {
        code
        message
      }
      ... on MediaTooLargeError {
        limitKind
        limit
      }
      ... on ValidationError {
        field
      }
    }
  }
`);

// media.ts
graphql(`
  fragment DeleteResultFields on DeleteResult {
    __typename
    ... on DeleteSuccess {
      deletedId
    }
    ... on Error {
      code
      message
    }
    ... on MediaInUseError {
      runCount
    }
    ... on NotFoundError {
      entity
      id
    }
  }
`);

// media.ts
graphql(`
  mutation DeleteMedia($id: ID!) {
    deleteMedia(id: $id) {
      ...DeleteResultFields
    }
  }
`);

// media.ts
graphql(`
  query Gallery($first: Int, $after: String, $kind: MediaKind) {
    gallery(first: $first, after: $after, kind: $kind) {
      edges {
        cursor
        node {
          ...MediaFields
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

// queue.ts
graphql(`
  subscription QueueUpdated {
    queueUpdated {
      queued
      running
      workers {
        url
        healthy
        sandbox
        running
        queued
      }
      viewerRuns {
        position
        run {
          id
          status
        }
      }
    }
  }
`);

// runs.ts
graphql(`
  fragment RunFields on Run {
    id
    mode
    modelKey
    styleKey
    prompt
    negativePrompt
    effectivePrompt
    effectiveNegativePrompt
    status
    progress
    sequence
    seed
    count
    priority
    queuePosition
    attempt
    worker
    parameters
    createdAt
    startedAt
    finishedAt
    output {
      format
      quality
      background
    }
    adjustments
    error {
      code
      message
      stage
      nodeId
      nodeType
      detail
      exceptionType
    }
    stages {
      kind
      status
      progress
      message
      nodeId
      nodeType
      step
      maxSteps
      input
      output
      startedAt
      finishedAt
      durationMs
    }
    inputs {
      role
      index
      media {
        ...MediaFields
      }
    }
    outputs {
      ...MediaFields
    }
    retryOf {
      id
    }
  }
`);

// runs.ts
graphql(`
  fragment CreateRunResultFields on CreateRunResult {
    __typename
    ... on CreateRunSuccess {
      run {
        ...RunFields
      }
      webhookSecret
    }
    ... on Error {
      code
      message
    }
    ... on ValidationError {
      field
    }
    ... on NotFoundError {
      entity
      id
    }
    ... on InsufficientCreditsError {
      needed
      balance
    }
    ... on QueueLimitError {
      limit
    }
  }
`);

// runs.ts
graphql(`
  mutation CreateRun($input: CreateRunInput!) {
    createRun(input: $input) {
      ...CreateRunResultFields
    }
  }
`);

// runs.ts
graphql(`
  mutation RetryRun($id: ID!, $newSeed: Boolean) {
    retryRun(id: $id, newSeed: $newSeed) {
      ...CreateRunResultFields
    }
  }
`);

// runs.ts
graphql(`
  mutation CancelRun($id: ID!) {
    cancelRun(id: $id) {
      __typename
      ... on CancelRunSuccess {
        run {
          ...RunFields
        }
      }
      ... on Error {
        code
        message
      }
      ... on RunNotActiveError {
        status
      }
      ... on NotFoundError {
        entity
        id
      }
    }
  }
`);

// runs.ts
graphql(`
  mutation DeleteRun($id: ID!) {
    deleteRun(id: $id) {
      ...DeleteResultFields
    }
  }
`);

// runs.ts
graphql(`
  query Run($id: ID!) {
    run(id: $id) {
      ...RunFields
    }
  }
`);

// runs.ts
graphql(`
  subscription RunEvents($id: ID!) {
    runEvents(id: $id) {
      sequence
      type
      stage {
        kind
        status
        progress
        message
        nodeId
        nodeType
        step
        maxSteps
      }
      preview {
        mimeType
        dataUrl
        nodeId
      }
      output {
        ...MediaFields
      }
      run {
        ...RunFields
      }
    }
  }
`);

// runs.ts
graphql(`
  query Runs($first: Int, $after: String, $filter: RunFilter) {
    runs(first: $first, after: $after, filter: $filter) {
      edges {
        cursor
        node {
          ...RunFields
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

// webhooks.ts
graphql(`
  mutation CreateWebhook($input: WebhookInput!) {
    createWebhook(input: $input) {
      __typename
      ... on CreateWebhookSuccess {
        secret
        webhook {
          id
          url
          events
          createdAt
        }
      }
      ... on Error {
        code
        message
      }
      ... on ValidationError {
        field
      }
    }
  }
`);

// webhooks.ts
graphql(`
  mutation DeleteWebhook($id: ID!) {
    deleteWebhook(id: $id) {
      __typename
      ... on Error {
        code
        message
      }
    }
  }
`);

// webhooks.ts
graphql(`
  query WebhookDeliveries($run: ID, $first: Int) {
    webhookDeliveries(run: $run, first: $first) {
      id
      url
      event
      status
      attempts
      lastStatus
      lastError
      nextAttemptAt
      deliveredAt
      createdAt
      forRunWebhook
      run {
        id
      }
    }
  }
`);
