// Entry point: the studio session picks the client (the page's own origin, GraphQL at
// /graphql, live updates over WebSocket on the same path; with an API key when the server
// asks for one).
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { StudioSession } from './Session.tsx';
import './styles.css';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <StudioSession />
  </StrictMode>,
);
