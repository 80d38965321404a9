// The htpasswd hash libraries ship no type declarations.
declare module 'apache-md5' {
  /** `$apr1$` MD5 (htpasswd -m): hash `password` with the salt of `saltOrHash`, or a new one. */
  function md5(password: string, saltOrHash?: string): string;
  export default md5;
}

declare module 'apache-crypt' {
  /** Traditional DES crypt (htpasswd -d): hash `password` with the salt of `saltOrHash`, or a new one. */
  function crypt(password: string, saltOrHash?: string): string;
  export default crypt;
}
