import 'reflect-metadata';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import compression from 'compression';
import { onShutdown, requeueUnfinished, startJobRuntime } from '@threadreel/jobs';
import { loadServerConfigOrExit, openDatabase } from '@threadreel/store';
import { AppModule } from './app.module.js';
import { loadDemo } from './demo.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

async function main(): Promise<void> {
  const args = new Set(process.argv.slice(2));
  const log = new Logger('threadreel');
  const say = (m: string) => log.log(m);
  const config = loadServerConfigOrExit();

  const db = await openDatabase(config, { log: say, migrate: true, applicationName: 'threadreel-api' });
  const jobs = await startJobRuntime(config, db, { runProcessors: !args.has('--no-workers'), log: say });
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, db, jobs.driver), {
    logger: ['error', 'warn', 'log'],
  });
  app.disable('x-powered-by');
  // gzip for JSON, the UI bundle and text when the client accepts it. Level 1: replays and
  // lanes (JSON of repeated keys and digits) still shrink ~8×, at a fraction of the default
  // level's CPU on a 2-core server. Lane tiles are packed varints with their own media type,
  // which the default filter leaves alone.
  app.use(compression({ level: 1, threshold: 1024 }));
  // `/t/<traceId>` links (as printed by the CLI and in issues) open the replay in the UI.
  app
    .getHttpAdapter()
    .getInstance()
    .get(
      '/t/:traceId',
      (req: { params: { traceId: string } }, res: { redirect(s: number, u: string): void }) =>
        res.redirect(302, `/#/t/${encodeURIComponent(req.params.traceId)}`),
    );
  const web = path.join(repoRoot, 'dist', 'web');
  if (existsSync(web))
    app.useStaticAssets(web, {
      index: 'index.html',
      // Vite names bundles by content hash: a browser keeps them; index.html is re-checked.
      setHeaders: (res: { setHeader(name: string, value: string): void }, file: string) =>
        res.setHeader(
          'Cache-Control',
          file.includes(`${path.sep}assets${path.sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache',
        ),
    });
  else say(`web UI not built (${web} missing): run npm run build`);
  const doc = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('threadreel')
      .setDescription(
        'Trace profiling: captures, threads, samples and folded stacks. Times are integer ns as strings.',
      )
      .setVersion('0.1.0')
      .build(),
  );
  SwaggerModule.setup('api/docs', app, doc);

  onShutdown(async (signal) => {
    say(`shutting down (${signal})`);
    await app.close().catch(() => undefined);
    await jobs.close();
    say('workers and queue closed');
    await db.close();
    say('database closed');
  }, say);

  await app.listen(config.port, config.host);
  const url = `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${config.port}`;
  say(
    `API and UI on ${url} (database: ${db.embedded ? 'embedded PostgreSQL' : 'DATABASE_URL'}, queue: ${jobs.driver.kind})`,
  );

  const requeued = await requeueUnfinished(db, jobs.driver);
  if (requeued) say(`re-queued ${requeued} unfinished capture(s)`);
  if (args.has('--demo'))
    await loadDemo(`http://127.0.0.1:${config.port}`, path.join(repoRoot, 'test', 'fixtures', 'demo'), say);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
});
