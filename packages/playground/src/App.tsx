// The studio shell: header with Studio / Gallery, mode tabs, the composer, the live run
// with its results, the recent runs (from the server), and a live queue and worker status
// line in the header, and (with an API key) the account and its credits. Pages are real
// paths (/ and /gallery): the server answers index.html for both.
import { cancelRun, type GenerationMode, type Media, type Run, retryRun } from '@atelier/sdk';
import { useAtelierClient, useModels, useQueue, useRun, useRuns } from '@atelier/sdk/react';
import { type KeyboardEvent, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { type Account, AccountBadge } from './components/ApiKey.tsx';
import { Composer, formForModel } from './components/Composer.tsx';
import { Gallery } from './components/Gallery.tsx';
import { Lightbox, type LightboxItem } from './components/Lightbox.tsx';
import { parameterDefaults } from './components/ParameterControls.tsx';
import { RecentRuns } from './components/RecentRuns.tsx';
import { RunView } from './components/RunView.tsx';
import { itemFromMedia } from './components/Uploader.tsx';
import { WorkerStatus } from './components/WorkerStatus.tsx';
import { MODES } from './modes.ts';
import {
  EMPTY_MODE_FORM,
  loadSettings,
  type ModeForm,
  type SharedForm,
  saveSettings,
  summarize,
} from './state.ts';

/** How many recent runs the studio lists. */
const RECENT_RUNS = 20;

type Page = 'studio' | 'gallery';

function pageFromPath(): Page {
  return window.location.pathname.replace(/\/+$/, '') === '/gallery' ? 'gallery' : 'studio';
}

/** The mode asked for in the URL (?mode=), else the one used last, else text-to-image. */
function initialMode(stored: GenerationMode | null): GenerationMode {
  const wanted = new URLSearchParams(window.location.search).get('mode') ?? stored;
  return MODES.find((m) => m.mode === wanted)?.mode ?? 'TEXT_TO_IMAGE';
}

/** Brings an element's top into view (instantly when the user prefers reduced motion). */
function scrollToTop(selector: string) {
  const reduce = window.matchMedia?.('(prefers-reduced-motion: reduce)').matches;
  document
    .querySelector(selector)
    ?.scrollIntoView({ block: 'start', behavior: reduce ? 'auto' : 'smooth' });
}

interface AppProps {
  /** The account of the API key in use; null without a key (AUTH_MODE=local). */
  account?: Account | null;
  /** Forgets the stored API key (shown with the account). */
  onForgetKey?: () => void;
  /** Called when a run was created or changed state (credits are charged or refunded). */
  onRunChanged?: () => void;
}

export function App({ account = null, onForgetKey, onRunChanged }: AppProps = {}) {
  const client = useAtelierClient();
  const [page, setPage] = useState<Page>(pageFromPath);
  // Settings saved on an earlier visit (read once).
  const [stored] = useState(loadSettings);
  const [mode, setMode] = useState<GenerationMode>(() => initialMode(stored.mode));
  const [forms, setForms] = useState<Partial<Record<GenerationMode, ModeForm>>>(stored.forms);
  const [shared, setShared] = useState<SharedForm>({ prompt: stored.prompt });
  /** The run to bring into view once its panel shows (set by Generate, Retry). */
  const scrollTo = useRef<string | null>(null);
  const [runId, setRunId] = useState<string | null>(null);
  const [lightbox, setLightbox] = useState<LightboxItem | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const [canceling, setCanceling] = useState(false);
  const live = useRun(runId);
  const videoModels = useModels('IMAGE_TO_VIDEO');
  const recentRuns = useRuns({ first: RECENT_RUNS });
  const { queue } = useQueue();

  useEffect(() => {
    const onPop = () => setPage(pageFromPath());
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);

  const navigate = (next: Page) => {
    const path = next === 'gallery' ? '/gallery' : '/';
    if (window.location.pathname !== path) window.history.pushState(null, '', path);
    setPage(next);
  };

  const setFormFor = useCallback(
    (target: GenerationMode) => (update: (form: ModeForm) => ModeForm) =>
      setForms((all) => ({ ...all, [target]: update(all[target] ?? EMPTY_MODE_FORM) })),
    [],
  );
  const setForm = useCallback(
    (update: (form: ModeForm) => ModeForm) => setFormFor(mode)(update),
    [mode, setFormFor],
  );

  // The recent runs come from the server: ask again whenever the watched run changes state
  // (runs created through the SDK refresh the list by themselves).
  const { refetch: refetchRecent } = recentRuns;
  const liveId = live.run?.id;
  const liveStatus = live.run?.status;
  useEffect(() => {
    if (liveId && liveStatus) {
      refetchRecent();
      onRunChanged?.();
    }
  }, [liveId, liveStatus, refetchRecent, onRunChanged]);

  // The server's list, with the watched run as it is now (it is fresher than the last fetch).
  const recent = useMemo(() => {
    const current = live.run;
    return recentRuns.runs.map((r) => summarize(r.id === current?.id ? current : r));
  }, [recentRuns.runs, live.run]);

  // Every tab's settings (not its inputs), the tab and the prompt, for the next visit.
  useEffect(() => {
    saveSettings({ mode, prompt: shared.prompt, forms });
  }, [mode, shared.prompt, forms]);

  const show = (run: Run) => {
    scrollTo.current = run.id;
    setActionError(null);
    setCanceling(false);
    setRunId(run.id);
    refetchRecent();
    onRunChanged?.();
  };

  const cancel = async () => {
    if (!runId) return;
    setCanceling(true);
    setActionError(null);
    try {
      const result = await cancelRun(client, runId);
      if (result.__typename !== 'CancelRunSuccess') {
        setActionError(`${result.code}: ${result.message}`);
      }
    } catch (e) {
      setActionError((e as Error).message);
    } finally {
      setCanceling(false);
    }
  };

  const retry = async () => {
    if (!runId) return;
    setActionError(null);
    try {
      const result = await retryRun(client, runId, { newSeed: true });
      if (result.__typename === 'CreateRunSuccess') show(result.run);
      else setActionError(`${result.code}: ${result.message}`);
    } catch (e) {
      setActionError((e as Error).message);
    }
  };

  /** The Image → Video form as the user left it, or the first model with its defaults. */
  const videoForm = (): ModeForm | null => {
    const current = forms.IMAGE_TO_VIDEO ?? EMPTY_MODE_FORM;
    const model =
      videoModels.data.find((m) => m.key === current.modelKey) ?? videoModels.data[0] ?? null;
    if (!model) return null;
    return current.modelKey === model.key
      ? {
          ...current,
          parameters: {
            ...parameterDefaults(model.parameters, 'IMAGE_TO_VIDEO'),
            ...current.parameters,
          },
        }
      : formForModel(current, model, 'IMAGE_TO_VIDEO');
  };

  // "Animate" on a result: open the Image → Video composer with the image as its source and
  // the run's prompt; nothing runs until Generate (the user sees model, frames and cost first).
  const animateResult = (media: Media) => {
    setActionError(null);
    const form = videoForm() ?? EMPTY_MODE_FORM;
    setForms((all) => ({
      ...all,
      IMAGE_TO_VIDEO: { ...form, source: [itemFromMedia(media, 'result')] },
    }));
    const prompt = live.run?.prompt;
    if (prompt) setShared((s) => ({ ...s, prompt }));
    setMode('IMAGE_TO_VIDEO');
    requestAnimationFrame(() => scrollToTop('[data-testid="composer"]'));
  };

  // "Animate" in the gallery: open the Image → Video tab with the image as source.
  const animateFromGallery = (media: Media) => {
    const form = videoForm() ?? EMPTY_MODE_FORM;
    setForms((all) => ({ ...all, IMAGE_TO_VIDEO: { ...form, source: [itemFromMedia(media)] } }));
    setMode('IMAGE_TO_VIDEO');
    navigate('studio');
  };

  const run = live.run;
  // After Generate (or Retry), bring the new run's panel into view: on a phone it is below
  // the form, on a desktop the form's Generate button is far down the page.
  useEffect(() => {
    if (run?.id && scrollTo.current === run.id) {
      scrollTo.current = null;
      scrollToTop('[data-testid="run-view"]');
    }
  }, [run?.id]);

  // The mode tabs follow the WAI-ARIA tabs pattern: arrows, Home and End move and select.
  const onTabKey = (event: KeyboardEvent<HTMLDivElement>) => {
    const index = MODES.findIndex((m) => m.mode === mode);
    const target =
      event.key === 'ArrowRight'
        ? (index + 1) % MODES.length
        : event.key === 'ArrowLeft'
          ? (index - 1 + MODES.length) % MODES.length
          : event.key === 'Home'
            ? 0
            : event.key === 'End'
              ? MODES.length - 1
              : null;
    if (target === null) return;
    event.preventDefault();
    const next = MODES[target]!.mode;
    setMode(next);
    document.getElementById(`tab-${next}`)?.focus();
  };

  const connectionError = live.error ? (live.error as Error).message : null;
  // The queue position, live from the queue subscription (it changes when runs ahead of this
  // one start or are canceled, which the run's own events do not report).
  const queued = run ? queue?.viewerRuns.find((q) => q.run.id === run.id) : undefined;
  const queuePosition = queued ? queued.position : (run?.queuePosition ?? null);

  return (
    <>
      <header className="topbar">
        <div className="brand">
          <svg className="brand-mark" viewBox="0 0 32 32" aria-hidden="true">
            <rect width="32" height="32" rx="7" fill="#4f46e5" />
            <path
              d="M9 23 16 8l7 15M11.5 18h9"
              fill="none"
              stroke="#fff"
              strokeWidth="2.6"
              strokeLinecap="round"
              strokeLinejoin="round"
            />
          </svg>
          Atelier <small>Studio</small>
        </div>
        <nav className="nav" aria-label="Pages">
          <button
            type="button"
            aria-current={page === 'studio' ? 'page' : undefined}
            data-testid="nav-studio"
            onClick={() => navigate('studio')}
          >
            Studio
          </button>
          <button
            type="button"
            aria-current={page === 'gallery' ? 'page' : undefined}
            data-testid="nav-gallery"
            onClick={() => navigate('gallery')}
          >
            Gallery
          </button>
        </nav>
        <div className="topbar-spacer" />
        <WorkerStatus queue={queue} />
        {account && onForgetKey ? <AccountBadge account={account} onForget={onForgetKey} /> : null}
        <a className="topbar-link" href="/graphql" target="_blank" rel="noreferrer">
          GraphiQL ↗
        </a>
      </header>

      <main className="page">
        {page === 'gallery' ? (
          <Gallery onOpen={setLightbox} onAnimate={animateFromGallery} />
        ) : (
          <>
            <div
              className="mode-tabs"
              role="tablist"
              aria-label="Generation mode"
              onKeyDown={onTabKey}
            >
              {MODES.map((m) => (
                <button
                  type="button"
                  role="tab"
                  key={m.mode}
                  id={`tab-${m.mode}`}
                  aria-selected={mode === m.mode}
                  aria-controls="mode-panel"
                  tabIndex={mode === m.mode ? 0 : -1}
                  data-testid={`mode-${m.mode}`}
                  title={m.hint}
                  onClick={() => setMode(m.mode)}
                >
                  {m.label}
                </button>
              ))}
            </div>
            <div className="studio" role="tabpanel" id="mode-panel" aria-labelledby={`tab-${mode}`}>
              <Composer
                key={mode}
                mode={mode}
                form={forms[mode] ?? EMPTY_MODE_FORM}
                setForm={setForm}
                shared={shared}
                setShared={setShared}
                onCreated={show}
              />
              <div>
                {run ? (
                  <RunView
                    run={run}
                    queuePosition={queuePosition}
                    preview={live.preview}
                    connectionError={connectionError}
                    canceling={canceling}
                    onCancel={cancel}
                    onRetry={retry}
                    onAnimate={animateResult}
                    onOpen={setLightbox}
                    actionError={actionError}
                  />
                ) : (
                  <section className="panel" data-testid="run-empty">
                    {runId && !connectionError ? (
                      <div className="empty">
                        <span className="spinner" /> Connecting…
                      </div>
                    ) : connectionError ? (
                      <div className="panel-body">
                        <div className="alert error" role="alert">
                          {connectionError}
                        </div>
                      </div>
                    ) : (
                      <div className="empty">
                        <strong>No run yet</strong>
                        Write a prompt, pick a model and press Generate. Stages, progress and
                        previews show up here live.
                      </div>
                    )}
                  </section>
                )}
                <RecentRuns
                  runs={recent}
                  currentId={runId}
                  onSelect={(id) => {
                    setActionError(null);
                    setRunId(id);
                  }}
                  loading={recentRuns.fetching && !recentRuns.data}
                  error={recentRuns.error?.message ?? null}
                  onRefresh={refetchRecent}
                />
              </div>
            </div>
          </>
        )}
      </main>
      {lightbox ? <Lightbox item={lightbox} onClose={() => setLightbox(null)} /> : null}
    </>
  );
}
