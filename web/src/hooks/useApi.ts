import { useEffect, useState } from "react";
import { apiRequest, isAbort } from "../api/client";

export interface ApiState<T> {
  data: T | null;
  error: unknown;
  loading: boolean;
}

/**
 * GETs `path` (null: nothing to fetch) and refetches when it or `version` changes; a newer path
 * cancels the request still running for the older one, so a stale answer never replaces it.
 */
export function useApi<T>(path: string | null, version = 0): ApiState<T> {
  const [state, setState] = useState<ApiState<T>>({ data: null, error: null, loading: path !== null });

  useEffect(() => {
    if (path === null) {
      setState({ data: null, error: null, loading: false });
      return;
    }
    const controller = new AbortController();
    setState((previous) => ({ data: previous.data, error: null, loading: true }));
    apiRequest<T>(path, { signal: controller.signal })
      .then((data) => setState({ data, error: null, loading: false }))
      .catch((error: unknown) => {
        if (!isAbort(error)) setState({ data: null, error, loading: false });
      });
    return () => controller.abort();
  }, [path, version]);

  return state;
}
