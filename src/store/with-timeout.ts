import { StoreNoAnswer } from './store.js';

/**
 * `promise`, or a StoreNoAnswer (a StoreError) with `message` once `ms` passed: a store that hangs (a Redis stopped,
 * not closed) answers nothing and breaks no connection, so every wait on it needs its own end.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, message = `no answer within ${ms} ms`): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new StoreNoAnswer(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
