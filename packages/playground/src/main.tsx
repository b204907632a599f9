// Entry point: one Atelier client for the page's own origin (GraphQL at /graphql, live
// updates over WebSocket on the same path).
import { createAtelierClient } from '@atelier/sdk';
import { AtelierProvider } from '@atelier/sdk/react';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import './styles.css';

const client = createAtelierClient({ url: window.location.origin });

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <AtelierProvider client={client}>
      <App />
    </AtelierProvider>
  </StrictMode>,
);
