/* eslint-disable */
import * as types from './graphql.ts';



/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  fragment ModelFields on Model {\n    key\n    name\n    description\n    outputKind\n    modes\n    minReferences\n    maxReferences\n    promptLimit\n    defaultNegativePrompt\n    sizes\n    qualities\n    inputFidelities\n    maxVideoArea\n    parameters {\n      name\n      type\n      description\n      default\n      min\n      max\n      step\n      options\n      modes\n    }\n  }\n": typeof types.ModelFieldsFragmentDoc,
    "\n  fragment StyleFields on Style {\n    key\n    name\n    category\n    description\n    template\n  }\n": typeof types.StyleFieldsFragmentDoc,
    "\n  query Models($mode: GenerationMode) {\n    models(mode: $mode) {\n      ...ModelFields\n    }\n  }\n": typeof types.ModelsDocument,
    "\n  query Styles {\n    styles {\n      ...StyleFields\n    }\n  }\n": typeof types.StylesDocument,
    "\n  fragment MediaFields on Media {\n    id\n    kind\n    purpose\n    mimeType\n    width\n    height\n    durationMs\n    bytes\n    sha256\n    hasAlpha\n    originalName\n    createdAt\n    url\n    thumbnailUrl\n  }\n": typeof types.MediaFieldsFragmentDoc,
    "\n  mutation UploadMedia($file: Upload!, $purpose: MediaPurpose) {\n    uploadMedia(file: $file, purpose: $purpose) {\n      __typename\n      ... on UploadMediaSuccess {\n        media {\n          ...MediaFields\n        }\n      }\n      ... on Error {\n        code\n        message\n      }\n      ... on MediaTooLargeError {\n        limitKind\n        limit\n      }\n      ... on ValidationError {\n        field\n      }\n    }\n  }\n": typeof types.UploadMediaDocument,
    "\n  fragment DeleteResultFields on DeleteResult {\n    __typename\n    ... on DeleteSuccess {\n      deletedId\n    }\n    ... on Error {\n      code\n      message\n    }\n    ... on MediaInUseError {\n      runCount\n    }\n    ... on NotFoundError {\n      entity\n      id\n    }\n  }\n": typeof types.DeleteResultFieldsFragmentDoc,
    "\n  mutation DeleteMedia($id: ID!) {\n    deleteMedia(id: $id) {\n      ...DeleteResultFields\n    }\n  }\n": typeof types.DeleteMediaDocument,
    "\n  query Gallery($first: Int, $after: String, $kind: MediaKind) {\n    gallery(first: $first, after: $after, kind: $kind) {\n      edges {\n        cursor\n        node {\n          ...MediaFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": typeof types.GalleryDocument,
    "\n  subscription QueueUpdated {\n    queueUpdated {\n      queued\n      running\n      workers {\n        url\n        healthy\n        sandbox\n        running\n        queued\n      }\n      viewerRuns {\n        position\n        run {\n          id\n          status\n        }\n      }\n    }\n  }\n": typeof types.QueueUpdatedDocument,
    "\n  fragment RunFields on Run {\n    id\n    mode\n    modelKey\n    styleKey\n    prompt\n    negativePrompt\n    effectivePrompt\n    effectiveNegativePrompt\n    status\n    progress\n    sequence\n    seed\n    count\n    priority\n    queuePosition\n    attempt\n    worker\n    parameters\n    createdAt\n    startedAt\n    finishedAt\n    output {\n      format\n      quality\n      background\n    }\n    adjustments\n    error {\n      code\n      message\n      stage\n      nodeId\n      nodeType\n      detail\n      exceptionType\n    }\n    stages {\n      kind\n      status\n      progress\n      message\n      nodeId\n      nodeType\n      step\n      maxSteps\n      input\n      output\n      startedAt\n      finishedAt\n      durationMs\n    }\n    inputs {\n      role\n      index\n      media {\n        ...MediaFields\n      }\n    }\n    outputs {\n      ...MediaFields\n    }\n    retryOf {\n      id\n    }\n  }\n": typeof types.RunFieldsFragmentDoc,
    "\n  fragment CreateRunResultFields on CreateRunResult {\n    __typename\n    ... on CreateRunSuccess {\n      run {\n        ...RunFields\n      }\n      webhookSecret\n    }\n    ... on Error {\n      code\n      message\n    }\n    ... on ValidationError {\n      field\n    }\n    ... on NotFoundError {\n      entity\n      id\n    }\n    ... on InsufficientCreditsError {\n      needed\n      balance\n    }\n    ... on QueueLimitError {\n      limit\n    }\n  }\n": typeof types.CreateRunResultFieldsFragmentDoc,
    "\n  mutation CreateRun($input: CreateRunInput!) {\n    createRun(input: $input) {\n      ...CreateRunResultFields\n    }\n  }\n": typeof types.CreateRunDocument,
    "\n  mutation RetryRun($id: ID!, $newSeed: Boolean) {\n    retryRun(id: $id, newSeed: $newSeed) {\n      ...CreateRunResultFields\n    }\n  }\n": typeof types.RetryRunDocument,
    "\n  mutation CancelRun($id: ID!) {\n    cancelRun(id: $id) {\n      __typename\n      ... on CancelRunSuccess {\n        run {\n          ...RunFields\n        }\n      }\n      ... on Error {\n        code\n        message\n      }\n      ... on RunNotActiveError {\n        status\n      }\n      ... on NotFoundError {\n        entity\n        id\n      }\n    }\n  }\n": typeof types.CancelRunDocument,
    "\n  mutation DeleteRun($id: ID!) {\n    deleteRun(id: $id) {\n      ...DeleteResultFields\n    }\n  }\n": typeof types.DeleteRunDocument,
    "\n  query Run($id: ID!) {\n    run(id: $id) {\n      ...RunFields\n    }\n  }\n": typeof types.RunDocument,
    "\n  subscription RunEvents($id: ID!) {\n    runEvents(id: $id) {\n      sequence\n      type\n      stage {\n        kind\n        status\n        progress\n        message\n        nodeId\n        nodeType\n        step\n        maxSteps\n      }\n      preview {\n        mimeType\n        dataUrl\n        nodeId\n      }\n      output {\n        ...MediaFields\n      }\n      run {\n        ...RunFields\n      }\n    }\n  }\n": typeof types.RunEventsDocument,
    "\n  query Runs($first: Int, $after: String, $filter: RunFilter) {\n    runs(first: $first, after: $after, filter: $filter) {\n      edges {\n        cursor\n        node {\n          ...RunFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": typeof types.RunsDocument,
    "\n  mutation CreateWebhook($input: WebhookInput!) {\n    createWebhook(input: $input) {\n      __typename\n      ... on CreateWebhookSuccess {\n        secret\n        webhook {\n          id\n          url\n          events\n          createdAt\n        }\n      }\n      ... on Error {\n        code\n        message\n      }\n      ... on ValidationError {\n        field\n      }\n    }\n  }\n": typeof types.CreateWebhookDocument,
    "\n  mutation DeleteWebhook($id: ID!) {\n    deleteWebhook(id: $id) {\n      __typename\n      ... on Error {\n        code\n        message\n      }\n    }\n  }\n": typeof types.DeleteWebhookDocument,
    "\n  query WebhookDeliveries($run: ID, $first: Int) {\n    webhookDeliveries(run: $run, first: $first) {\n      id\n      url\n      event\n      status\n      attempts\n      lastStatus\n      lastError\n      nextAttemptAt\n      deliveredAt\n      createdAt\n      forRunWebhook\n      run {\n        id\n      }\n    }\n  }\n": typeof types.WebhookDeliveriesDocument,
};
const documents: Documents = {
    "\n  fragment ModelFields on Model {\n    key\n    name\n    description\n    outputKind\n    modes\n    minReferences\n    maxReferences\n    promptLimit\n    defaultNegativePrompt\n    sizes\n    qualities\n    inputFidelities\n    maxVideoArea\n    parameters {\n      name\n      type\n      description\n      default\n      min\n      max\n      step\n      options\n      modes\n    }\n  }\n": types.ModelFieldsFragmentDoc,
    "\n  fragment StyleFields on Style {\n    key\n    name\n    category\n    description\n    template\n  }\n": types.StyleFieldsFragmentDoc,
    "\n  query Models($mode: GenerationMode) {\n    models(mode: $mode) {\n      ...ModelFields\n    }\n  }\n": types.ModelsDocument,
    "\n  query Styles {\n    styles {\n      ...StyleFields\n    }\n  }\n": types.StylesDocument,
    "\n  fragment MediaFields on Media {\n    id\n    kind\n    purpose\n    mimeType\n    width\n    height\n    durationMs\n    bytes\n    sha256\n    hasAlpha\n    originalName\n    createdAt\n    url\n    thumbnailUrl\n  }\n": types.MediaFieldsFragmentDoc,
    "\n  mutation UploadMedia($file: Upload!, $purpose: MediaPurpose) {\n    uploadMedia(file: $file, purpose: $purpose) {\n      __typename\n      ... on UploadMediaSuccess {\n        media {\n          ...MediaFields\n        }\n      }\n      ... on Error {\n        code\n        message\n      }\n      ... on MediaTooLargeError {\n        limitKind\n        limit\n      }\n      ... on ValidationError {\n        field\n      }\n    }\n  }\n": types.UploadMediaDocument,
    "\n  fragment DeleteResultFields on DeleteResult {\n    __typename\n    ... on DeleteSuccess {\n      deletedId\n    }\n    ... on Error {\n      code\n      message\n    }\n    ... on MediaInUseError {\n      runCount\n    }\n    ... on NotFoundError {\n      entity\n      id\n    }\n  }\n": types.DeleteResultFieldsFragmentDoc,
    "\n  mutation DeleteMedia($id: ID!) {\n    deleteMedia(id: $id) {\n      ...DeleteResultFields\n    }\n  }\n": types.DeleteMediaDocument,
    "\n  query Gallery($first: Int, $after: String, $kind: MediaKind) {\n    gallery(first: $first, after: $after, kind: $kind) {\n      edges {\n        cursor\n        node {\n          ...MediaFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": types.GalleryDocument,
    "\n  subscription QueueUpdated {\n    queueUpdated {\n      queued\n      running\n      workers {\n        url\n        healthy\n        sandbox\n        running\n        queued\n      }\n      viewerRuns {\n        position\n        run {\n          id\n          status\n        }\n      }\n    }\n  }\n": types.QueueUpdatedDocument,
    "\n  fragment RunFields on Run {\n    id\n    mode\n    modelKey\n    styleKey\n    prompt\n    negativePrompt\n    effectivePrompt\n    effectiveNegativePrompt\n    status\n    progress\n    sequence\n    seed\n    count\n    priority\n    queuePosition\n    attempt\n    worker\n    parameters\n    createdAt\n    startedAt\n    finishedAt\n    output {\n      format\n      quality\n      background\n    }\n    adjustments\n    error {\n      code\n      message\n      stage\n      nodeId\n      nodeType\n      detail\n      exceptionType\n    }\n    stages {\n      kind\n      status\n      progress\n      message\n      nodeId\n      nodeType\n      step\n      maxSteps\n      input\n      output\n      startedAt\n      finishedAt\n      durationMs\n    }\n    inputs {\n      role\n      index\n      media {\n        ...MediaFields\n      }\n    }\n    outputs {\n      ...MediaFields\n    }\n    retryOf {\n      id\n    }\n  }\n": types.RunFieldsFragmentDoc,
    "\n  fragment CreateRunResultFields on CreateRunResult {\n    __typename\n    ... on CreateRunSuccess {\n      run {\n        ...RunFields\n      }\n      webhookSecret\n    }\n    ... on Error {\n      code\n      message\n    }\n    ... on ValidationError {\n      field\n    }\n    ... on NotFoundError {\n      entity\n      id\n    }\n    ... on InsufficientCreditsError {\n      needed\n      balance\n    }\n    ... on QueueLimitError {\n      limit\n    }\n  }\n": types.CreateRunResultFieldsFragmentDoc,
    "\n  mutation CreateRun($input: CreateRunInput!) {\n    createRun(input: $input) {\n      ...CreateRunResultFields\n    }\n  }\n": types.CreateRunDocument,
    "\n  mutation RetryRun($id: ID!, $newSeed: Boolean) {\n    retryRun(id: $id, newSeed: $newSeed) {\n      ...CreateRunResultFields\n    }\n  }\n": types.RetryRunDocument,
    "\n  mutation CancelRun($id: ID!) {\n    cancelRun(id: $id) {\n      __typename\n      ... on CancelRunSuccess {\n        run {\n          ...RunFields\n        }\n      }\n      ... on Error {\n        code\n        message\n      }\n      ... on RunNotActiveError {\n        status\n      }\n      ... on NotFoundError {\n        entity\n        id\n      }\n    }\n  }\n": types.CancelRunDocument,
    "\n  mutation DeleteRun($id: ID!) {\n    deleteRun(id: $id) {\n      ...DeleteResultFields\n    }\n  }\n": types.DeleteRunDocument,
    "\n  query Run($id: ID!) {\n    run(id: $id) {\n      ...RunFields\n    }\n  }\n": types.RunDocument,
    "\n  subscription RunEvents($id: ID!) {\n    runEvents(id: $id) {\n      sequence\n      type\n      stage {\n        kind\n        status\n        progress\n        message\n        nodeId\n        nodeType\n        step\n        maxSteps\n      }\n      preview {\n        mimeType\n        dataUrl\n        nodeId\n      }\n      output {\n        ...MediaFields\n      }\n      run {\n        ...RunFields\n      }\n    }\n  }\n": types.RunEventsDocument,
    "\n  query Runs($first: Int, $after: String, $filter: RunFilter) {\n    runs(first: $first, after: $after, filter: $filter) {\n      edges {\n        cursor\n        node {\n          ...RunFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": types.RunsDocument,
    "\n  mutation CreateWebhook($input: WebhookInput!) {\n    createWebhook(input: $input) {\n      __typename\n      ... on CreateWebhookSuccess {\n        secret\n        webhook {\n          id\n          url\n          events\n          createdAt\n        }\n      }\n      ... on Error {\n        code\n        message\n      }\n      ... on ValidationError {\n        field\n      }\n    }\n  }\n": types.CreateWebhookDocument,
    "\n  mutation DeleteWebhook($id: ID!) {\n    deleteWebhook(id: $id) {\n      __typename\n      ... on Error {\n        code\n        message\n      }\n    }\n  }\n": types.DeleteWebhookDocument,
    "\n  query WebhookDeliveries($run: ID, $first: Int) {\n    webhookDeliveries(run: $run, first: $first) {\n      id\n      url\n      event\n      status\n      attempts\n      lastStatus\n      lastError\n      nextAttemptAt\n      deliveredAt\n      createdAt\n      forRunWebhook\n      run {\n        id\n      }\n    }\n  }\n": types.WebhookDeliveriesDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment ModelFields on Model {\n    key\n    name\n    description\n    outputKind\n    modes\n    minReferences\n    maxReferences\n    promptLimit\n    defaultNegativePrompt\n    sizes\n    qualities\n    inputFidelities\n    maxVideoArea\n    parameters {\n      name\n      type\n      description\n      default\n      min\n      max\n      step\n      options\n      modes\n    }\n  }\n"): typeof import('./graphql.ts').ModelFieldsFragmentDoc;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment StyleFields on Style {\n    key\n    name\n    category\n    description\n    template\n  }\n"): typeof import('./graphql.ts').StyleFieldsFragmentDoc;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Models($mode: GenerationMode) {\n    models(mode: $mode) {\n      ...ModelFields\n    }\n  }\n"): typeof import('./graphql.ts').ModelsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Styles {\n    styles {\n      ...StyleFields\n    }\n  }\n"): typeof import('./graphql.ts').StylesDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment MediaFields on Media {\n    id\n    kind\n    purpose\n    mimeType\n    width\n    height\n    durationMs\n    bytes\n    sha256\n    hasAlpha\n    originalName\n    createdAt\n    url\n    thumbnailUrl\n  }\n"): typeof import('./graphql.ts').MediaFieldsFragmentDoc;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UploadMedia($file: Upload!, $purpose: MediaPurpose) {\n    uploadMedia(file: $file, purpose: $purpose) {\n      __typename\n      ... on UploadMediaSuccess {\n        media {\n          ...MediaFields\n        }\n      }\n      ... on Error {\n        code\n        message\n      }\n      ... on MediaTooLargeError {\n        limitKind\n        limit\n      }\n      ... on ValidationError {\n        field\n      }\n    }\n  }\n"): typeof import('./graphql.ts').UploadMediaDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment DeleteResultFields on DeleteResult {\n    __typename\n    ... on DeleteSuccess {\n      deletedId\n    }\n    ... on Error {\n      code\n      message\n    }\n    ... on MediaInUseError {\n      runCount\n    }\n    ... on NotFoundError {\n      entity\n      id\n    }\n  }\n"): typeof import('./graphql.ts').DeleteResultFieldsFragmentDoc;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DeleteMedia($id: ID!) {\n    deleteMedia(id: $id) {\n      ...DeleteResultFields\n    }\n  }\n"): typeof import('./graphql.ts').DeleteMediaDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Gallery($first: Int, $after: String, $kind: MediaKind) {\n    gallery(first: $first, after: $after, kind: $kind) {\n      edges {\n        cursor\n        node {\n          ...MediaFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"): typeof import('./graphql.ts').GalleryDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription QueueUpdated {\n    queueUpdated {\n      queued\n      running\n      workers {\n        url\n        healthy\n        sandbox\n        running\n        queued\n      }\n      viewerRuns {\n        position\n        run {\n          id\n          status\n        }\n      }\n    }\n  }\n"): typeof import('./graphql.ts').QueueUpdatedDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment RunFields on Run {\n    id\n    mode\n    modelKey\n    styleKey\n    prompt\n    negativePrompt\n    effectivePrompt\n    effectiveNegativePrompt\n    status\n    progress\n    sequence\n    seed\n    count\n    priority\n    queuePosition\n    attempt\n    worker\n    parameters\n    createdAt\n    startedAt\n    finishedAt\n    output {\n      format\n      quality\n      background\n    }\n    adjustments\n    error {\n      code\n      message\n      stage\n      nodeId\n      nodeType\n      detail\n      exceptionType\n    }\n    stages {\n      kind\n      status\n      progress\n      message\n      nodeId\n      nodeType\n      step\n      maxSteps\n      input\n      output\n      startedAt\n      finishedAt\n      durationMs\n    }\n    inputs {\n      role\n      index\n      media {\n        ...MediaFields\n      }\n    }\n    outputs {\n      ...MediaFields\n    }\n    retryOf {\n      id\n    }\n  }\n"): typeof import('./graphql.ts').RunFieldsFragmentDoc;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment CreateRunResultFields on CreateRunResult {\n    __typename\n    ... on CreateRunSuccess {\n      run {\n        ...RunFields\n      }\n      webhookSecret\n    }\n    ... on Error {\n      code\n      message\n    }\n    ... on ValidationError {\n      field\n    }\n    ... on NotFoundError {\n      entity\n      id\n    }\n    ... on InsufficientCreditsError {\n      needed\n      balance\n    }\n    ... on QueueLimitError {\n      limit\n    }\n  }\n"): typeof import('./graphql.ts').CreateRunResultFieldsFragmentDoc;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateRun($input: CreateRunInput!) {\n    createRun(input: $input) {\n      ...CreateRunResultFields\n    }\n  }\n"): typeof import('./graphql.ts').CreateRunDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RetryRun($id: ID!, $newSeed: Boolean) {\n    retryRun(id: $id, newSeed: $newSeed) {\n      ...CreateRunResultFields\n    }\n  }\n"): typeof import('./graphql.ts').RetryRunDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CancelRun($id: ID!) {\n    cancelRun(id: $id) {\n      __typename\n      ... on CancelRunSuccess {\n        run {\n          ...RunFields\n        }\n      }\n      ... on Error {\n        code\n        message\n      }\n      ... on RunNotActiveError {\n        status\n      }\n      ... on NotFoundError {\n        entity\n        id\n      }\n    }\n  }\n"): typeof import('./graphql.ts').CancelRunDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DeleteRun($id: ID!) {\n    deleteRun(id: $id) {\n      ...DeleteResultFields\n    }\n  }\n"): typeof import('./graphql.ts').DeleteRunDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Run($id: ID!) {\n    run(id: $id) {\n      ...RunFields\n    }\n  }\n"): typeof import('./graphql.ts').RunDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription RunEvents($id: ID!) {\n    runEvents(id: $id) {\n      sequence\n      type\n      stage {\n        kind\n        status\n        progress\n        message\n        nodeId\n        nodeType\n        step\n        maxSteps\n      }\n      preview {\n        mimeType\n        dataUrl\n        nodeId\n      }\n      output {\n        ...MediaFields\n      }\n      run {\n        ...RunFields\n      }\n    }\n  }\n"): typeof import('./graphql.ts').RunEventsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Runs($first: Int, $after: String, $filter: RunFilter) {\n    runs(first: $first, after: $after, filter: $filter) {\n      edges {\n        cursor\n        node {\n          ...RunFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"): typeof import('./graphql.ts').RunsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateWebhook($input: WebhookInput!) {\n    createWebhook(input: $input) {\n      __typename\n      ... on CreateWebhookSuccess {\n        secret\n        webhook {\n          id\n          url\n          events\n          createdAt\n        }\n      }\n      ... on Error {\n        code\n        message\n      }\n      ... on ValidationError {\n        field\n      }\n    }\n  }\n"): typeof import('./graphql.ts').CreateWebhookDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DeleteWebhook($id: ID!) {\n    deleteWebhook(id: $id) {\n      __typename\n      ... on Error {\n        code\n        message\n      }\n    }\n  }\n"): typeof import('./graphql.ts').DeleteWebhookDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query WebhookDeliveries($run: ID, $first: Int) {\n    webhookDeliveries(run: $run, first: $first) {\n      id\n      url\n      event\n      status\n      attempts\n      lastStatus\n      lastError\n      nextAttemptAt\n      deliveredAt\n      createdAt\n      forRunWebhook\n      run {\n        id\n      }\n    }\n  }\n"): typeof import('./graphql.ts').WebhookDeliveriesDocument;


export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}
