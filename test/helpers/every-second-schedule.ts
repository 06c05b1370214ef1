/** A deployment whose one secret, AppPassword, is due for rotation every second; one service uses it. */
export const everySecondSchedule = (
  deployment: string,
): string => `deployment: {name: ${deployment}}
secrets:
  AppPassword:
    generator: {kind: alphanumeric, length: 16}
    rotate: {schedule: "* * * * * *"}
services:
  app:
    options:
      DEFAULT:
        password: "{{ secret.AppPassword }}"
`;
