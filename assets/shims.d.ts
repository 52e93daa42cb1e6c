// The phoenix package ships no type declarations; the client is used through phoenix_live_view's types.
declare module 'phoenix' {
  export const Socket: new (endPoint: string, opts?: object) => unknown;
}
